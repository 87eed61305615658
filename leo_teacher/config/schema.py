"""The typed configuration: one dataclass per part. Every default lives here, once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leo_teacher.config.modes import MODE_TABLE

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"

MODES = tuple(MODE_TABLE)  # names, in the order of the table (config/modes.py)
HER_STRATEGIES = ("random", "seen", "positive", "mixed")
ENV_NAMES = ("gridworld", "craftax-classic", "craftax", "brax-reacher", "point-mass")
DISTILL_TARGETS = ("argmax", "softmax", "kl")
# Coordinator fields each student may set for itself in the ``per_student`` section.
PER_STUDENT_FIELDS = ("distill_target", "distill_coef", "distill_tau", "value_distill_coef", "anneal_distill")
GOAL_INPUTS = ("representation", "index")
INPUT_NORMS = ("layer_norm", "batch_renorm", "none")
STUDENT_ARCHITECTURES = ("shared", "towers")
EVAL_POLICIES = ("greedy", "sample")
TRACES = ("peng", "watkins")
GOAL_SAMPLINGS = ("uniform-seen", "frontier", "progress")  # coordinator.goal_sampling (core/curriculum.py)
ACTOR_OBJECTIVES = ("logit", "value")  # what the continuous DPG actor loss ascends
OPTIMISERS = ("joint", "separate")  # one optimiser over a continuous teacher's actor and critics, or one each
CRITIC_FEATURES = ("shared", "per-goal")  # how the all-goals critic's heads read the trunk's features
HEAD_GOAL_INPUTS = ("embedding", "representation")  # how the all-goals heads tell the goals apart


class ConfigError(ValueError):
    """A configuration problem the user can fix; the message says how."""


@dataclass
class EnvConfig:
    """Which environment, and how many envs step in parallel for how long per iteration.

    name: the environment: gridworld, craftax-classic, craftax, brax-reacher or point-mass
    num_envs: environments stepped in parallel
    rollout_steps: steps each environment takes per iteration
    size: gridworld side length in cells
    wall_prob: gridworld probability that a cell is a wall
    map_seed: seed of the gridworld's (fixed) map
    episode_length: steps before an episode ends
    random_start_steps: training episodes start after up to this many random steps
    reset_scheme: craftax resets: "auto", or the reset scheme by name (envs/craftax.py)
    reset_fraction: craftax: fraction of envs reset from the bank each iteration
    bank_size: craftax: reset states kept in the bank
    goals_per_ring: brax-reacher: targets on each ring
    target_grid: point-mass: target cells per side of the arena
    stop_on_goal: point-mass: a goal counts only with the mass at rest on its centre
    """

    name: str = "gridworld"
    num_envs: int = 256
    rollout_steps: int = 32
    # gridworld
    size: int = 16
    wall_prob: float = 0.3
    map_seed: int = 0
    episode_length: int = 200
    random_start_steps: int = 50
    # craftax
    reset_scheme: str = "auto"
    reset_fraction: float = 0.02
    bank_size: int = 1024
    # brax-reacher (continuous torques; leo_teacher/envs/brax_reacher.py). episode_length and
    # random_start_steps above apply too (its preset: 50-step episodes of 0.02 s).
    backend: str = "spring"  # Brax pipeline; spring measured fastest on CPU for the arm
    goal_rings: int = 3  # targets on rings of radius 0.2 m * k / goal_rings
    goals_per_ring: int = 8
    goal_radius: float = 0.02  # metres: fingertip within this of a target achieves it (point-mass: arena units)
    # point-mass (leo_teacher/envs/point_mass.py): goals are the centres of a grid of cells;
    # stop_on_goal: a goal counts only with the mass at rest on it (goal_radius in position and velocity)
    target_grid: int = 5
    stop_on_goal: bool = False


@dataclass
class TeacherConfig:
    """The LEO teacher: an MLP from observation to [G, A] sigmoid values (DESIGN §1).

    width: hidden units per layer
    depth: hidden layers
    lr: Adam learning rate
    anneal_lr: decay the learning rate linearly to 0 over the run
    max_grad_norm: gradient clipping by global norm
    epochs: passes over each rollout per iteration
    minibatch_size: transitions per gradient step
    eps_start: exploration epsilon at the start (continuous actions: action-noise std)
    eps_end: exploration epsilon after the decay
    eps_decay_fraction: fraction of the run over which epsilon decays linearly
    input_norm: input normalisation: "layer_norm", "batch_renorm" (discrete teachers) or "none"
    conv_norm: a LayerNorm after the conv layer
    relabel_count: pqn-her: extra relabelled goals per env and rollout
    her_strategy: pqn-her: how relabelled goals are picked (random, seen, positive, mixed)
    head_width: continuous actions: per-goal critic head width
    target_noise: continuous actions: std of TD3's target-policy smoothing noise
    target_noise_clip: continuous actions: clip of that noise
    """

    width: int = 256
    depth: int = 2
    lr: float = 2e-4
    anneal_lr: bool = True
    max_grad_norm: float = 1.0
    epochs: int = 2
    minibatch_size: int = 512
    gamma: float | None = None  # None: 0.99 when the teacher acts, 0.995 when a student acts
    td_lambda: float = 0.0  # 0: one-step targets (DESIGN §1); >0: PQN-style Q(lambda)
    # lambda-returns for all goals from one behaviour: "peng" lets every goal's trace run on;
    # "watkins" cuts goal g's trace where the taken action was not greedy for g (discrete LEO)
    trace: str = "peng"
    # epsilon when the teacher acts (continuous actions: the std of its Gaussian action noise)
    eps_start: float = 0.2
    eps_end: float = 0.01
    eps_decay_fraction: float = 0.2
    conv_features: int = -1  # 3x3 conv over map observations; -1: auto (16 for maps, else none)
    # input normalisation: "layer_norm" (stateless) or "batch_renorm" (the paper's: map and flat
    # features separately, running statistics); conv_norm: a LayerNorm after the conv (the paper's)
    input_norm: str = "layer_norm"
    conv_norm: bool = False
    # hindsight relabelling (mode pqn-her): extra goals per env and rollout, and how to pick them
    relabel_count: int = 4
    her_strategy: str = "mixed"
    # continuous actions (leo_teacher/teachers/actor_critic.py): per-goal critic head width, and TD3's
    # target-policy smoothing noise (std, clip) on the bootstrap action
    head_width: int = 64
    target_noise: float = 0.2
    target_noise_clip: float = 0.5
    # the continuous teachers' variants (docs/continuous.md), each off by default
    actor_head_width: int = 0  # per-goal hidden width of the all-goals actor head (0: a linear readout per goal)
    actor_objective: str = "logit"  # what the DPG actor loss ascends: the critic's "logit" or its "value"
    optimisers: str = "joint"  # "joint": one optimiser and gradient clip over actor and critics; "separate": one each
    unreached_goal_weight: float = 1.0  # loss weight of a goal not achieved in the rollout (1: all equal)
    critic_features: str = "shared"  # all-goals critic: one projection of the trunk for every goal, or "per-goal"
    # all-goals actor-critic: per-goal heads with a free embedding each ("embedding"), or one head
    # shared by the goals that reads each goal's representation and the raw observation
    head_goal_input: str = "embedding"


@dataclass
class StudentConfig:
    """A goal-conditioned student trained by PPO and distilled from the teacher.

    name: student name(s), comma-separated, or a module:factory path
    architecture: MLP student shape: "shared" trunk or the paper's actor/critic "towers"
    embedding_layers: towers: Dense+ReLU layers after the conv
    actor_layers: towers: layers of the actor tower
    critic_layers: towers: layers of the critic tower
    width: hidden units per layer
    depth: hidden layers of the shared trunk
    lr: Adam learning rate
    anneal_lr: decay the learning rate linearly to 0 over the run
    max_grad_norm: gradient clipping by global norm
    adam_eps: Adam's epsilon
    epochs: PPO passes over each rollout per iteration
    minibatch_size: transitions per gradient step
    gamma: discount factor
    gae_lambda: lambda of generalised advantage estimation
    clip_eps: PPO ratio clip
    entropy_coef: weight of the entropy bonus
    value_coef: weight of the value loss
    token_dim: transformer: token width
    num_layers: transformer: blocks
    num_heads: transformer: attention heads
    """

    name: str = "mlp"
    goal_input: str = "representation"  # or "index": a learned embedding of the goal index
    conv_features: int = -1  # 3x3 conv over map observations; -1: auto (32 for maps, else none)
    # MLP student shape: "shared" (one trunk for both heads) or "towers", the paper's PPO network:
    # the goal's map part joined to the observation's map as channels before the conv, no
    # normalisation, embedding_layers Dense+ReLU, then separate actor and critic towers
    architecture: str = "shared"
    embedding_layers: int = 1
    actor_layers: int = 2
    critic_layers: int = 4
    width: int = 256
    depth: int = 2
    lr: float = 2e-4
    anneal_lr: bool = True
    max_grad_norm: float = 0.5
    adam_eps: float = 1e-5
    epochs: int = 1
    minibatch_size: int = 2048
    gamma: float = 0.995
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    entropy_coef: float = 0.005
    value_coef: float = 0.5
    log_std_init: float = -0.5  # continuous actions: initial log std of the Gaussian policy
    # transformer student (students/transformer.py). CPU-sized defaults chosen on the gridworld
    # (docs/benchmarks.md): one block and one token for its 256 flat features, about the MLP's
    # cost. Deeper models want num_layers >= 2 (with one block, only the CLS token queries:
    # attention pooling plus a feed-forward).
    token_dim: int = 64
    num_layers: int = 1
    num_heads: int = 4
    mlp_ratio: int = 4  # feed-forward width = mlp_ratio * token_dim
    chunk_size: int = 256  # flat features per token (map observations: one token per cell)
    pooling: str = "cls"  # or "mean" over all tokens


@dataclass
class CoordinatorConfig:
    """The schedule of the joint teacher and student updates.

    ``mode`` picks who acts and who learns; the distillation fields shape the student's loss
    towards the teacher (ignored in modes without a teacher or without a student).

    mode: who acts and who learns (config/modes.py lists the modes)
    distill_target: what the student is distilled towards: argmax, softmax or kl
    distill_coef: weight of the distillation loss in the student's loss
    distill_tau: temperature of the teacher's softmax/kl target
    value_distill_coef: weight of distilling the teacher's value into the student's critic
    anneal_distill: decay the distillation weight linearly to 0 over the run
    teacher_warmup_iterations: iterations the teacher trains alone before the student learns
    """

    mode: str = "teacher-as-teacher"
    distill_target: str = "argmax"
    distill_coef: float = 0.1
    distill_tau: float = 1.0
    value_distill_coef: float = 0.0
    anneal_distill: bool = False
    teacher_warmup_iterations: int = 0
    teacher_value_weight: float = 0.3  # dual-leo-pqn: weight of the teacher's values when acting
    # which seen goal to command next (core/curriculum.py): uniform-seen (the paper's), frontier
    # (the teacher's undecided goals at the current state) or progress (recent change of live
    # success); the weighted two: softmax(score / goal_temperature) mixed with goal_floor of uniform
    goal_sampling: str = "uniform-seen"
    goal_temperature: float = 0.2  # frontier/progress: softmax temperature of the goal scores
    goal_floor: float = 0.2  # frontier/progress: share of the draw that is uniform over seen goals
    # modes distill / distill-ppo (python -m leo_teacher.distill): the finished run whose teacher
    # is loaded and frozen, and the share of envs the teacher acts in, from teacher_act_start at
    # the first iteration linearly down to 0 at teacher_act_fraction of the run (0: the student always acts)
    teacher_run: str = ""
    teacher_act_start: float = 0.0  # distill modes: share of envs the teacher acts in at the start
    teacher_act_fraction: float = 0.2  # distill modes: fraction of the run over which that share falls to 0
    # modes whose student acts and whose teacher learns (teacher-as-teacher, dual-leo-pqn): the share
    # of the env batch (its last envs) in which the teacher acts epsilon-greedily on its commanded
    # goal, so that it learns from its own choices too (a passive learner's "tandem" problem); the
    # students act and learn in the other envs, the teacher learns from all (0: the students act everywhere)
    teacher_env_share: float = 0.0


@dataclass
class RunConfig:
    """Budget, seed, logging, evaluation and where results go.

    seed: random seed of the run (network initialisation, environments)
    total_steps: environment steps to train for
    run_dir: output directory (default runs/<env>-<mode>-<student>-seed<N>-<time>)
    eval_repeats: evaluation episodes per goal
    eval_max_steps: step limit of an evaluation episode
    wandb: log to Weights & Biases (offline without an API key)
    wandb_project: the Weights & Biases project
    """

    seed: int = 0
    total_steps: int = 2_000_000
    run_dir: str = ""
    log_every: int = 10  # iterations per jitted chunk, one metrics line each
    eval_every: int = 0  # chunks between evaluations; 0: only at the end
    eval_repeats: int = 16
    eval_max_steps: int = 512
    eval_seed: int = 12345  # no tuning used it: the figures reported in docs/ are on this seed
    # how students act in the per-goal evaluation: "greedy" (the mode of their policy) or
    # "sample" (stochastic, as they act in training); teachers are evaluated greedily
    eval_policy: str = "greedy"
    checkpoint_every: int = 10  # chunks between checkpoints; 0: only at the end (always at the end)
    num_seeds: int = 1  # independent seeds (seed, seed+1, ...) vmapped in one program
    devices: int = 0  # devices the env batch is sharded over; 0: all
    distributed: bool = False  # join a multi-host job with jax.distributed.initialize()
    wandb: bool = False
    wandb_project: str = "leo-teacher"


@dataclass
class Config:
    env: EnvConfig = field(default_factory=EnvConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    student: StudentConfig = field(default_factory=StudentConfig)
    coordinator: CoordinatorConfig = field(default_factory=CoordinatorConfig)
    run: RunConfig = field(default_factory=RunConfig)
    # Distillation options per student, {student name: {field: value}} with fields from
    # PER_STUDENT_FIELDS; what a student does not set follows `coordinator` (coordinator_for).
    per_student: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def student_names(self) -> list[str]:
        """The run's students, in order (``student.name`` is comma-separated)."""
        return [n.strip() for n in self.student.name.split(",") if n.strip()]

    def coordinator_for(self, student: str) -> CoordinatorConfig:
        """The coordinator settings as ``student`` sees them: its ``per_student`` entry on top."""
        return dataclasses.replace(self.coordinator, **self.per_student.get(student, {}))

    @property
    def teacher_envs(self) -> int:
        """How many envs (the batch's last) the learning teacher acts in (coordinator.teacher_env_share)."""
        return round(self.coordinator.teacher_env_share * self.env.num_envs)

    @property
    def rollout_size(self) -> int:
        return self.env.num_envs * self.env.rollout_steps

    @property
    def num_iterations(self) -> int:
        return max(0, self.run.total_steps // self.rollout_size)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


SECTIONS = tuple(f.name for f in dataclasses.fields(Config))
