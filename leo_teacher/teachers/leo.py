"""The discrete LEO teacher: Q(s, g, a) for every goal from one pass, every goal trained per transition.

Targets (DESIGN §1), per goal g: y_g = r_g + gamma * max_a' Q(s', g, a') * (1 - done_g), with
done_g = g achieved in s' or the episode ended; the max over a' comes from the values computed
while acting (the rollout's snapshot of the network), so targets stay fixed for the update's
epochs. Loss: 0.5 * mean over batch and goals of (Q(s, g, a_taken) - y_g)^2, computed from the
taken action's values only (``LeoNetwork.taken``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from leo_teacher.config import Config, ConfigError
from leo_teacher.core import losses
from leo_teacher.core.distributions import epsilon_greedy
from leo_teacher.core.networks import LeoNetwork, resolve_conv
from leo_teacher.core.sgd import STATS, has_stats, sgd_update, trainable
from leo_teacher.core.state import Advice, Learner, Transition
from leo_teacher.teachers.base import ExportForward, TDBatch, TDHParams, flat, next_step, td_loss_metrics, teacher_optimiser


class DiscreteTeacher:
    """What the discrete teachers share: epsilon-greedy exploration, greedy action, TD update."""

    def __init__(self, net, tx, hp: TDHParams, num_goals: int, num_actions: int):
        self.net, self.tx, self.hp = net, tx, hp
        self.num_goals, self.num_actions = num_goals, num_actions
        self.action_dtype = jnp.int8 if num_actions <= 127 else jnp.int32  # per-goal greedy actions, stored

    def goal_values(self, params, obs: jnp.ndarray, goal: jnp.ndarray) -> jnp.ndarray:
        """Values of every action for one goal index per observation, [B, A]."""
        raise NotImplementedError

    def q_taken(self, params, batch: TDBatch) -> jnp.ndarray:
        """The taken action's values for each transition's goal columns, [mb, K]."""
        raise NotImplementedError

    def apply_train(self, params, *args, **kwargs):
        """The network in training mode: (output, its updated running statistics or None)."""
        if not has_stats(params):
            return self.net.apply(params, *args, **kwargs), None
        out, new = self.net.apply(params, *args, train=True, mutable=[STATS], **kwargs)
        return out, new[STATS]

    def targets(self, params, traj: Transition, last_obs: jnp.ndarray, rng: jax.Array, seen=None) -> TDBatch:
        """The flat training data of this rollout, targets fixed."""
        raise NotImplementedError

    def blank(self, batch: int):
        greedy = jnp.zeros((batch, self.num_goals), self.action_dtype) if self.hp.trace == "watkins" else None
        return Advice.blank(batch, self.num_actions, 0), jnp.zeros((batch, self.num_goals)), greedy

    def explore(self, k_act, k_eps, advice: Advice, eps):
        return epsilon_greedy(k_act, k_eps, advice.q, eps)

    def greedy(self, params, obs, goal):
        return jnp.argmax(self.goal_values(params, obs, goal), axis=-1)

    def update(self, rng, learner: Learner, traj: Transition, last_obs, seen=None):
        k_sgd, k_goals = jax.random.split(rng)
        batch = self.targets(learner.params, traj, last_obs, k_goals, seen)

        def loss_fn(params, b: TDBatch):
            q_taken, stats = self.q_taken(params, b)
            loss = losses.leo_td_loss(q_taken, b.target)
            metrics = td_loss_metrics(loss, q_taken)
            return loss, (metrics if stats is None else (metrics, stats))

        return sgd_update(k_sgd, learner, self.tx, loss_fn, batch, self.hp.minibatch_size, self.hp.epochs)


class LeoTeacher(DiscreteTeacher):
    """The all-goals Q teacher for discrete actions (``LeoNetwork``: [B, G, A] sigmoid values)."""

    @classmethod
    def build(cls, config: Config, env, gamma: float) -> "LeoTeacher":
        t = config.teacher
        conv = resolve_conv(t.conv_features, env.obs_spec, auto=16)
        net = LeoNetwork(env.obs_spec, env.goal_set.num_goals, env.num_actions, t.width, t.depth, conv,
                         t.input_norm, t.conv_norm)
        return cls(net, teacher_optimiser(config), TDHParams.from_config(config, gamma),
                   env.goal_set.num_goals, env.num_actions)

    def init(self, key, obs):
        params = self.net.init(key, obs[:1])
        return Learner(params=params, opt_state=self.tx.init(trainable(params)))

    def values(self, params, obs: jnp.ndarray) -> jnp.ndarray:
        """Every goal's values of every action, [B, G, A]."""
        return self.net.apply(params, obs)

    def goal_values(self, params, obs, goal):
        return self.values(params, obs)[jnp.arange(obs.shape[0]), goal]

    def observe(self, params, obs, goal, key):
        q = self.values(params, obs)
        q_goal = q[jnp.arange(obs.shape[0]), goal]
        # Watkins traces cut where the taken action was not greedy for a goal: keep the argmax.
        greedy = q.argmax(axis=-1).astype(self.action_dtype) if self.hp.trace == "watkins" else None
        return Advice(q=q_goal, action=None, value=q_goal.max(axis=-1)), q.max(axis=-1), greedy

    def targets(self, params, traj, last_obs, rng, seen=None):
        next_q_max = next_step(traj.teacher_bootstrap, self.values(params, last_obs).max(axis=-1))
        if self.hp.trace == "watkins":
            taken_greedy = traj.teacher_greedy == traj.action[..., None].astype(self.action_dtype)  # [T, B, G]
            next_greedy = next_step(taken_greedy, jnp.ones_like(taken_greedy[0]))
            y = losses.watkins_lambda_targets(traj.achieved, traj.episode_end, next_q_max, next_greedy,
                                              self.hp.gamma, self.hp.td_lambda)
        else:
            y = losses.leo_lambda_targets(traj.achieved, traj.episode_end, next_q_max, self.hp.gamma,
                                          self.hp.td_lambda)
        return TDBatch(obs=flat(traj.obs), action=flat(traj.action), target=flat(y))

    def q_taken(self, params, batch):  # [mb, G], without computing the other actions' values
        return self.apply_train(params, batch.obs.astype(jnp.float32), batch.action, method="taken")

    def export_forward(self) -> ExportForward:
        return ExportForward(self.values, ["q [B, G, A]"])


def refuse_export(mode: str) -> ConfigError:
    """The error for exporting a goal-conditioned baseline's network as a teacher."""
    return ConfigError(f"this run (mode {mode}) trained a goal-conditioned Q network, not a LEO teacher; "
                       "only LEO teachers and students can be exported")
