"""The coordinator: one jitted iteration = rollout -> student updates -> teacher update.

It owns the schedule (who acts, who learns, distillation and its annealing), the teacher and
any number of students. Students share the environment batch: student k acts in the k-th
contiguous slice of envs and learns on its own slice, distilled from the one teacher, which
learns all goals off-policy from everybody's data (and may act in envs of its own after the
students' slices, ``coordinator.teacher_env_share``). The pieces: teachers (:mod:`leo_teacher.teachers`),
student learners (:mod:`leo_teacher.learners`), the rollout (:mod:`leo_teacher.core.rollout`).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from leo_teacher.config import Config, ConfigError
from leo_teacher.config.checks import check_action_space, check_students
from leo_teacher.core import curriculum, distributions
from leo_teacher.core.evaluation import random_policy
from leo_teacher.core.rollout import COUNTERS, paper_live_success, rollout, sample_goals, student_slice
from leo_teacher.core.schedule import Schedule
from leo_teacher.core.state import ActorState, Learner, TrainState
from leo_teacher.envs.base import Env
from leo_teacher.envs.goals import goal_families
from leo_teacher.learners import StudentHParams, make_learner
from leo_teacher.teachers import make_teacher
from students import StudentSpec, make_student


class ScoredPolicy(NamedTuple):
    """A policy the run evaluates: ``act(params, obs, goal[, key])`` and its params in a state."""

    act: Callable
    params_of: Callable[[TrainState], object]
    stochastic: bool = False


class Coordinator:
    """Builds the teacher, students and learner from a Config and runs jitted training chunks."""

    def __init__(self, config: Config, env: Env):
        check_students(config)
        check_action_space(config, env.continuous, env.name)
        self.config, self.env, self.goal_set = config, env, env.goal_set
        self.num_goals, self.num_envs = env.goal_set.num_goals, config.env.num_envs
        self.schedule = sched = Schedule.from_config(config)
        self.mode = sched.mode
        self.student_names = config.student_names
        # The learning teacher may act in the batch's last envs (coordinator.teacher_env_share);
        # the students share the others equally.
        self.teacher_envs = config.teacher_envs
        self.student_envs = self.num_envs - self.teacher_envs
        self.slice_size = self.student_envs // len(self.student_names)
        # Each student's distillation options (config.per_student); the teacher runs while
        # acting if it acts, learns, or any student distils from it.
        self.student_schedules = [Schedule.from_config(config, n) for n in self.student_names]
        self.needs_teacher_values = self.mode.actor == "teacher" or sched.train_teacher or any(
            s.distils for s in self.student_schedules)
        # A one-hot index through a student's first dense layer is a learned goal embedding.
        index = config.student.goal_input == "index"
        self.goal_reps = jnp.eye(self.num_goals, dtype=jnp.float32) if index else jnp.asarray(self.goal_set.reps)
        self.dist = distributions.for_env(env)
        spec = StudentSpec(env.obs_spec, env.num_actions, self.num_goals, int(self.goal_reps.shape[-1]),
                           continuous=env.continuous)
        self.policy_size = spec.policy_size
        try:
            self.students = [make_student(n, config.student, spec) for n in self.student_names]
        except ValueError as e:
            raise ConfigError(str(e)) from None
        self.teacher = make_teacher(config, env, self.mode, sched.teacher_gamma)
        self.learner = make_learner(self.mode.student_algorithm, config, self.dist, self.goal_reps,
                                    len(self.students))
        explores = {"student": self.learner.explores, "teacher": True, "random": False}
        self.explores = explores[self.mode.actor] or self.teacher_envs > 0
        # Binary observations are stored as uint8 in rollouts and cast back where a network reads them.
        self.obs_store_dtype = jnp.uint8 if env.obs_spec.binary else jnp.float32
        # Goal families (name prefix before '/'), for the share of commands each one gets.
        fams = goal_families(self.goal_set.names)
        self.families = list(dict.fromkeys(fams))
        self.family_index = jnp.asarray([self.families.index(f) for f in fams], jnp.int32)
        self._chunks: dict = {}

    def init(self, seed: int) -> TrainState:
        """A fresh training state from ``seed`` (same seed, same state)."""
        rng = jax.random.PRNGKey(seed)
        rng, k_env, k_goal, k_teacher, *k_students = jax.random.split(rng, 4 + len(self.students))
        env_state, obs = self.env.reset(k_env, self.num_envs)
        seen = self.goal_set.achieved(obs).any(axis=0)
        students = []
        for student, key in zip(self.students, k_students):
            params = student.init(key, obs[:1], self.goal_reps[:1])
            students.append(Learner(params=params, opt_state=self.learner.tx.init(params)))
        actors = ActorState(env_state=env_state, obs=obs, goal=sample_goals(k_goal, seen, self.num_envs),
                            first_goal=jnp.ones((self.num_envs,), dtype=bool), seen=seen,
                            live_successes=jnp.zeros((), jnp.float32), live_attempts=jnp.zeros((), jnp.float32),
                            **{k: jnp.zeros((self.num_goals,), jnp.float32) for k in (
                                "paper_successes", "paper_failures", "fast_successes", "fast_failures", "commanded",
                                "command_mass")})
        teacher = self.teacher.init(k_teacher, obs)
        return TrainState(actors, teacher, tuple(students), rng, jnp.zeros((), jnp.int32))

    # ------------------------------------------------------------------ one iteration

    def iteration(self, state: TrainState) -> tuple[TrainState, dict]:
        """Rollout, then student updates, then the teacher update; returns metrics."""
        sched = self.schedule
        rng, k_roll, k_teacher, *k_students = jax.random.split(state.rng, 3 + len(self.students))
        actors, traj = rollout(self, state, k_roll)
        metrics = {
            "reward_rate": traj.reward.mean(),
            "goals_seen": actors.seen.sum().astype(jnp.float32),
            "live_success": actors.live_successes / jnp.maximum(actors.live_attempts, 1e-6),
            "paper_live_success": paper_live_success(actors.paper_successes, actors.paper_failures),
            "epsilon": sched.epsilon(state.iteration) if self.explores else jnp.float32(0),
            **self._command_metrics(actors),
        }
        students = state.students
        if sched.train_student:
            students = tuple(self.update_student(i, state, actors, traj, key, metrics)
                             for i, key in enumerate(k_students))
            metrics["distill_scale"] = sched.distill_scale(state.iteration)  # the run-level default's
        teacher = state.teacher
        if sched.train_teacher:
            teacher, t_metrics = self.teacher.update(k_teacher, state.teacher, traj, actors.obs, actors.seen)
            metrics.update(t_metrics)
        return TrainState(actors, teacher, students, rng, state.iteration + 1), metrics

    def _command_metrics(self, actors: ActorState) -> dict:
        """This chunk's goal draws so far: the entropy of the distribution they came from (mean
        over draws) and the share of draws each goal family got (read at the chunk's end)."""
        draws = jnp.maximum(actors.commanded.sum(), 1e-6)
        shares = jax.ops.segment_sum(actors.commanded, self.family_index, len(self.families)) / draws
        return {"goal_entropy": curriculum.entropy(actors.command_mass / draws),
                **{f"commanded/{f}": shares[i] for i, f in enumerate(self.families)}}

    def update_student(self, i: int, state: TrainState, actors: ActorState, traj, key, metrics: dict) -> Learner:
        """Student i's update on its slice of the rollout; its metrics go into ``metrics``."""
        own, cfg = self.student_schedules[i], self.config.student
        scale = own.distill_scale(state.iteration)
        hp = StudentHParams(cfg.clip_eps, cfg.value_coef, cfg.entropy_coef, own.distill_target, own.distill_tau,
                            own.distill_coef * scale, own.value_distill_coef * scale)
        student, learner = self.students[i], state.students[i]
        part = jax.tree_util.tree_map(lambda x: student_slice(self, i, x, axis=1), traj)
        obs_i, goal_i = student_slice(self, i, actors.obs), student_slice(self, i, actors.goal)
        last_out, last_value = student.apply(learner.params, obs_i, self.goal_reps[goal_i])
        learner, s_metrics = self.learner.update(key, student.apply, learner, part, last_out, last_value, hp)
        suffix = "" if len(self.students) == 1 else f"/{self.student_names[i]}"
        metrics.update({k + suffix: v for k, v in s_metrics.items()})
        return learner

    def reduction(self, key: str) -> str:
        """How metric ``key`` is reduced over a chunk: "last" for counters, "mean" for losses."""
        return "last" if key in COUNTERS or key == "distill_scale" or key.startswith("commanded/") else "mean"

    def chunk_fn(self, length: int, num_seeds: int = 1):
        """A jitted function running ``length`` iterations under lax.scan (cached).

        With ``num_seeds > 1`` it takes a seed-stacked state and runs every seed's
        iterations side by side (vmapped), metrics gaining a leading seed axis.
        """
        key = (length, num_seeds > 1)
        if key not in self._chunks:

            def run(state: TrainState):
                return jax.lax.scan(lambda s, _: self.iteration(s), state, None, length=length)

            self._chunks[key] = jax.jit(run if num_seeds == 1 else jax.vmap(run), donate_argnums=0)
        return self._chunks[key]

    # ------------------------------------------------------------------ policies

    def greedy_policies(self, sample: bool = False) -> dict:
        """name -> (policy(params, obs [B, D], goal [B]) -> greedy action, its params getter).

        With ``sample`` the students' policies sample their actions and take a PRNG key last.
        """
        out = {}
        for i, (name, student) in enumerate(zip(self.student_names, self.students)):

            def act(params, obs, goal, key=None, student=student):
                out = student.apply(params, obs, self.goal_reps[goal])[0]
                return self.dist.sample(key, out)[0] if sample else self.dist.mode(out)

            out[name] = (act, lambda s, i=i: s.students[i].params)
        out["teacher"] = (self.teacher.greedy, lambda s: s.teacher.params)
        return out

    def scored_policies(self) -> dict[str, ScoredPolicy]:
        """The policies a run evaluates: the acting one(s), and the teacher wherever it learned
        or was distilled from (students greedy, or sampling with ``run.eval_policy=sample``)."""
        sample = self.config.run.eval_policy == "sample"
        greedy = self.greedy_policies(sample)
        names = {"student": list(self.student_names), "teacher": ["teacher"], "random": []}[self.mode.actor]
        if (self.schedule.train_teacher or self.mode.frozen_teacher) and "teacher" not in names:
            names.append("teacher")
        if not names:
            return {"random": ScoredPolicy(random_policy(self.dist), lambda s: None, stochastic=True)}
        return {n: ScoredPolicy(*greedy[n], stochastic=sample and n != "teacher") for n in names}

    def headline_policy(self) -> str:
        """The policy whose figures head the summary: the actor's."""
        return {"student": self.student_names[0], "teacher": "teacher", "random": "random"}[self.mode.actor]
