"""The goal-conditioned Q baseline in the teacher's slot (modes pqn, pqn-her, all-goals-relabel).

One network pass per (state, goal) pair: for each transition it trains the goal columns that
:func:`leo_teacher.teachers.relabel.training_goals` picks, bootstrapping from the current
network at s' for each of them (one time step at a time, to bound the memory of B*K passes).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from leo_teacher.config import Config
from leo_teacher.core import losses
from leo_teacher.core.networks import GoalQNetwork, resolve_conv
from leo_teacher.core.sgd import trainable
from leo_teacher.core.state import Advice, Learner
from leo_teacher.teachers.base import TDBatch, TDHParams, flat, teacher_optimiser
from leo_teacher.teachers.leo import DiscreteTeacher, refuse_export
from leo_teacher.teachers.relabel import Relabelling, relabelled, training_goals


class GoalQTeacher(DiscreteTeacher):
    """Q(s, g, .) from (observation, goal representation), trained with hindsight goals."""

    def __init__(self, net, tx, hp: TDHParams, num_goals: int, num_actions: int, goal_reps: jnp.ndarray,
                 relabelling: Relabelling, mode: str):
        super().__init__(net, tx, hp, num_goals, num_actions)
        self.goal_reps, self.relabelling, self.mode = goal_reps, relabelling, mode

    @classmethod
    def build(cls, config: Config, env, gamma: float, relabel: str) -> "GoalQTeacher":
        t = config.teacher
        conv = resolve_conv(t.conv_features, env.obs_spec, auto=16)
        net = GoalQNetwork(env.obs_spec, env.num_actions, t.width, t.depth, conv, t.input_norm, t.conv_norm)
        return cls(net, teacher_optimiser(config), TDHParams.from_config(config, gamma), env.goal_set.num_goals,
                   env.num_actions, jnp.asarray(env.goal_set.reps), Relabelling.from_config(config, relabel),
                   config.coordinator.mode)

    def init(self, key, obs):
        params = self.net.init(key, obs[:1], self.goal_reps[:1])
        return Learner(params=params, opt_state=self.tx.init(trainable(params)))

    def goal_values(self, params, obs, goal):
        return self.net.apply(params, obs, self.goal_reps[goal])

    def observe(self, params, obs, goal, key):
        # Bootstrap values are computed after the rollout, for the goals the update trains.
        q_goal = self.goal_values(params, obs, goal)
        B = obs.shape[0]
        return Advice(q=q_goal, action=None, value=q_goal.max(axis=-1)), jnp.zeros((B, 0)), None

    def _pairs(self, params, obs: jnp.ndarray, goals: jnp.ndarray, train: bool = False):
        """Values [B * K, A] of each observation [B, D] with each of its K goals [B, K]
        (with ``train``: and the network's updated running statistics, or None)."""
        K = goals.shape[-1]
        inputs = (jnp.repeat(obs, K, axis=0), self.goal_reps[goals.reshape(-1)])
        return self.apply_train(params, *inputs) if train else self.net.apply(params, *inputs)

    def targets(self, params, traj, last_obs, rng, seen=None):
        goals = training_goals(rng, traj, self.num_goals, self.relabelling, seen)  # [T, B, K]
        next_obs, achieved = relabelled(traj, last_obs, goals)
        next_q_max = jax.lax.map(lambda a: self._pairs(params, *a).max(axis=-1).reshape(a[1].shape),
                                 (next_obs, goals))
        y = losses.leo_lambda_targets(achieved, traj.episode_end, next_q_max, self.hp.gamma, self.hp.td_lambda)
        return TDBatch(obs=flat(traj.obs), action=flat(traj.action), target=flat(y), goal=flat(goals))

    def q_taken(self, params, batch):
        mb, K = batch.goal.shape
        q, stats = self._pairs(params, batch.obs.astype(jnp.float32), batch.goal, train=True)
        a = jnp.repeat(batch.action, K)
        return jnp.take_along_axis(q, a[:, None], axis=-1)[:, 0].reshape(mb, K), stats

    def export_forward(self):
        raise refuse_export(self.mode)
