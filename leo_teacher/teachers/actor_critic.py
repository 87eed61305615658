"""The continuous teachers: the all-goals actor-critic (continuous LEO) and the goal-conditioned TD3.

**Learning (TD3-style, LEO-style targets).** Every transition trains every goal (or, for the
goal-conditioned baseline, the goal columns of :func:`leo_teacher.teachers.relabel.training_goals`),
off-policy, from the current iteration's rollout (no replay buffer, as the discrete LEO teacher):

- targets y_g = r_g + gamma * (1 - done_g) * min_i Q_i(s', g, a'_g), done_g = g achieved OR
  episode ended, with a'_g = clip(pi(s')_g + clip(N(0, target_noise^2), +-target_noise_clip))
  (TD3's twin critics and target-policy smoothing); optionally Q(lambda) returns
  (``teacher.td_lambda``) through :func:`leo_teacher.core.losses.leo_lambda_targets`;
- the bootstrap values are computed while acting, by the networks of the start of the
  iteration, and stay fixed for the update's epochs: the rollout's snapshot *is* the target
  network, synced once per iteration (PQN/LEO's choice, DESIGN §1), instead of Polyak-averaged
  copies; it costs no second set of parameters and no second pass per minibatch;
- critic loss: 0.5 * mean over critics, batch and goals of (Q_i(s, g, a) - y_g)^2 at the action
  taken; actor loss: deterministic policy gradient averaged over goals, on the critic's
  pre-sigmoid logit, -mean logit Q_1(s, g, pi(s)_g), the critic held fixed. The logit is a
  monotone transform of Q, so it has the same best action, but its action-gradient does not
  vanish where Q is near 0 (far goals, most of them early on) as the sigmoid's does (ascending Q
  itself stalled the teacher: docs/benchmarks.md). One optimiser over both losses, each
  reaching only its own network.
- variants for docs/continuous.md's experiments, each off by default: ``teacher.actor_objective``
  (the value instead of the logit), ``teacher.optimisers`` ("separate": an optimiser and a
  gradient clip each for actor and critics), ``teacher.unreached_goal_weight`` (the all-goals
  losses' weight of goals the env never achieved during the rollout).

When the teacher acts it adds Gaussian noise to its action for the commanded goal, with a
standard deviation annealed like epsilon (``teacher.eps_start`` -> ``teacher.eps_end``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from leo_teacher.config import Config
from leo_teacher.core import losses
from leo_teacher.core.sgd import sgd_update
from leo_teacher.core.state import Advice, Learner
from leo_teacher.teachers.actor_critic_nets import AllGoalsActorCritic, GoalActorCritic, actor_only, smoothed
from leo_teacher.teachers.base import ExportForward, TDBatch, TDHParams, flat, next_step, td_loss_metrics, teacher_optimiser
from leo_teacher.teachers.leo import refuse_export
from leo_teacher.teachers.relabel import Relabelling, relabelled, training_goals


def actor_critic_loss(q: jnp.ndarray, target: jnp.ndarray, q_pi: jnp.ndarray, weight: jnp.ndarray | None = None):
    """Critic TD loss at the taken action plus the DPG actor loss, each a weighted mean over the
    goal columns when ``weight`` is given; (total, metrics)."""
    if weight is None:
        critic, actor = losses.leo_td_loss(q, target), losses.dpg_actor_loss(q_pi)
    else:
        critic, actor = losses.weighted_td_loss(q, target, weight), losses.weighted_dpg_actor_loss(q_pi, weight)
    return critic + actor, td_loss_metrics(critic, q, teacher_actor_loss=actor)


def is_actor_param(path: str) -> bool:
    """Whether a top-level parameter name belongs to a continuous teacher's actor."""
    return path.startswith("actor")


def continuous_optimiser(config: Config) -> optax.GradientTransformation:
    """``teacher.optimisers``: "joint" is the teachers' one RAdam and one gradient clip over
    actor and critics; "separate" gives the actor and the critics one each, so neither's
    gradient norm scales the other's step."""
    if config.teacher.optimisers == "joint":
        return teacher_optimiser(config)

    def labels(params):
        return {k: {name: jax.tree_util.tree_map(lambda _, n=name: "actor" if is_actor_param(n) else "critic", sub)
                    for name, sub in v.items()} for k, v in params.items()}

    return optax.multi_transform({"actor": teacher_optimiser(config), "critic": teacher_optimiser(config)}, labels)


class ContinuousTeacher:
    """What both continuous teachers share: Gaussian exploration and the update's skeleton."""

    def __init__(self, net, tx, hp: TDHParams, config: Config, num_goals: int, action_dim: int):
        self.net, self.tx, self.hp = net, tx, hp
        self.target_noise, self.target_noise_clip = config.teacher.target_noise, config.teacher.target_noise_clip
        self.num_goals, self.action_dim = num_goals, action_dim
        self.actor_logits = config.teacher.actor_objective == "logit"
        self.unreached_goal_weight = config.teacher.unreached_goal_weight

    def blank(self, batch: int):
        return Advice.blank(batch, 0, self.action_dim), jnp.zeros((batch, self.num_goals)), None

    def explore(self, k_act, k_eps, advice: Advice, eps):
        noise = eps * jax.random.normal(k_act, advice.action.shape)
        return jnp.clip(advice.action + noise, -1.0, 1.0)

    def update(self, rng, learner: Learner, traj, last_obs, seen=None):
        k_sgd, k_goals, k_boot = jax.random.split(rng, 3)
        batch = self.targets(learner.params, traj, last_obs, k_goals, k_boot, seen)
        return sgd_update(k_sgd, learner, self.tx, self.loss, batch, self.hp.minibatch_size, self.hp.epochs)

    def _batch(self, traj, achieved, next_v, goal=None) -> TDBatch:
        y = losses.leo_lambda_targets(achieved, traj.episode_end, next_v, self.hp.gamma, self.hp.td_lambda)
        return TDBatch(obs=flat(traj.obs), action=jnp.clip(flat(traj.action), -1.0, 1.0), target=flat(y),
                       goal=None if goal is None else flat(goal))


class AllGoalsActorCriticTeacher(ContinuousTeacher):
    """Continuous LEO: one actor and twin critics, each over all goals from one pass."""

    @classmethod
    def build(cls, config: Config, env, gamma: float) -> "AllGoalsActorCriticTeacher":
        t, G = config.teacher, env.goal_set.num_goals
        reps = tuple(map(tuple, env.goal_set.reps.tolist())) if t.head_goal_input == "representation" else None
        net = AllGoalsActorCritic(env.obs_spec, G, env.num_actions, t.width, t.depth, t.head_width, t.actor_head_width,
                                  t.critic_features, t.input_norm, reps)
        return cls(net, continuous_optimiser(config), TDHParams.from_config(config, gamma), config, G, env.num_actions)

    def init(self, key, obs):
        params = self.net.init(key, obs[:1])
        return Learner(params=params, opt_state=self.tx.init(params))

    def actions(self, params, obs):
        """Every goal's action [B, G, D]."""
        return self.net.apply(params, obs, method="act")

    def bootstrap(self, params, obs, rng):
        """min_i Q_i(s, g, smoothed pi(s)_g) for every goal, [B, G], and pi(s) [B, G, D]."""
        actions = self.actions(params, obs)
        noisy = smoothed(rng, actions, self.target_noise, self.target_noise_clip)
        return self.net.apply(params, obs, noisy, method="q").min(axis=0), actions

    def observe(self, params, obs, goal, key):
        # Every goal's bootstrap value at this state (the previous step's targets need it).
        v, actions = self.bootstrap(params, obs, key)
        batch = jnp.arange(obs.shape[0])
        return Advice(q=None, action=actions[batch, goal], value=v[batch, goal]), v, None

    def greedy(self, params, obs, goal):
        return self.actions(params, obs)[jnp.arange(obs.shape[0]), goal]

    def targets(self, params, traj, last_obs, k_goals, k_boot, seen=None):
        last_v, _ = self.bootstrap(params, last_obs, k_boot)
        batch = self._batch(traj, traj.achieved, next_step(traj.teacher_bootstrap, last_v))
        if self.unreached_goal_weight == 1.0:
            return batch
        return batch.replace(weight=flat(losses.unreached_goal_weights(traj.achieved, self.unreached_goal_weight)))

    def loss(self, params, b: TDBatch):
        obs = b.obs.astype(jnp.float32)
        taken = jnp.broadcast_to(b.action[:, None, :], (obs.shape[0], self.num_goals, self.action_dim))
        q = self.net.apply(params, obs, taken, method="q")  # [C, mb, G]
        pi = self.net.apply(params, obs, method="act")
        q_pi = self.net.apply(actor_only(params), obs, pi, logits=self.actor_logits, method="q")[0]
        return actor_critic_loss(q, b.target, q_pi, b.weight)

    def values(self, params, obs):
        """(every goal's action [B, G, D], its value, min over critics, [B, G])."""
        actions = self.actions(params, obs)
        return actions, self.net.apply(params, obs, actions, method="q").min(axis=0)

    def export_forward(self) -> ExportForward:
        return ExportForward(self.values, ["actions [B, G, D]", "values [B, G]"])


class GoalTD3Teacher(ContinuousTeacher):
    """The baselines' goal-conditioned TD3 with hindsight relabelling: one pass per (state, goal)."""

    def __init__(self, net, tx, hp, config, num_goals, action_dim, goal_reps, relabelling: Relabelling):
        super().__init__(net, tx, hp, config, num_goals, action_dim)
        self.goal_reps, self.relabelling, self.mode = goal_reps, relabelling, config.coordinator.mode

    @classmethod
    def build(cls, config: Config, env, gamma: float, relabel: str) -> "GoalTD3Teacher":
        t = config.teacher
        net = GoalActorCritic(env.obs_spec, env.num_actions, t.width, t.depth, t.input_norm)
        return cls(net, continuous_optimiser(config), TDHParams.from_config(config, gamma), config,
                   env.goal_set.num_goals, env.num_actions, jnp.asarray(env.goal_set.reps),
                   Relabelling.from_config(config, relabel))

    def init(self, key, obs):
        params = self.net.init(key, obs[:1], self.goal_reps[:1])
        return Learner(params=params, opt_state=self.tx.init(params))

    def observe(self, params, obs, goal, key):
        rep = self.goal_reps[goal]
        a_goal = self.net.apply(params, obs, rep, method="act")
        v_goal = self.net.apply(params, obs, rep, a_goal, method="q").min(axis=0)
        return Advice(q=None, action=a_goal, value=v_goal), jnp.zeros((obs.shape[0], 0)), None

    def greedy(self, params, obs, goal):
        return self.net.apply(params, obs, self.goal_reps[goal], method="act")

    def _bootstrap(self, params, obs, goals, rng):
        """Bootstrap values [B, K] for the K goal columns of one time step."""
        B, K = goals.shape
        o, rep = jnp.repeat(obs, K, axis=0), self.goal_reps[goals.reshape(-1)]
        a = smoothed(rng, self.net.apply(params, o, rep, method="act"), self.target_noise, self.target_noise_clip)
        return self.net.apply(params, o, rep, a, method="q").min(axis=0).reshape(B, K)

    def targets(self, params, traj, last_obs, k_goals, k_boot, seen=None):
        goals = training_goals(k_goals, traj, self.num_goals, self.relabelling, seen)  # [T, B, K]
        next_obs, achieved = relabelled(traj, last_obs, goals)
        keys = jax.random.split(k_boot, traj.goal.shape[0])
        next_v = jax.lax.map(lambda a: self._bootstrap(params, *a), (next_obs, goals, keys))
        return self._batch(traj, achieved, next_v, goals)

    def loss(self, params, b: TDBatch):
        mb, K = b.goal.shape
        o = jnp.repeat(b.obs.astype(jnp.float32), K, axis=0)
        rep = self.goal_reps[b.goal.reshape(-1)]
        q = self.net.apply(params, o, rep, jnp.repeat(b.action, K, axis=0), method="q")
        pi = self.net.apply(params, o, rep, method="act")
        q_pi = self.net.apply(actor_only(params), o, rep, pi, logits=self.actor_logits, method="q")[0]
        return actor_critic_loss(q.reshape(-1, mb, K), b.target, q_pi)

    def export_forward(self):
        raise refuse_export(self.mode)
