"""The all-goals teacher for continuous actions, and the coordinator steps that use it.

**All-goals actor-critic.** One actor reads the observation once and outputs an action for
every goal, [B, G, D] (trunk, then Dense(G*D), tanh). A critic reads the observation once and
gives each goal's value at that goal's own action, Q(s, g, a_g) -> [B, G]: the trunk and a
projection of its features are computed once per observation; per goal the projection plus the
goal's embedding plus the goal's own linear map of a_g, LayerNorm + ReLU, a Dense + LayerNorm +
ReLU layer shared by the goals, and the goal's output unit, through a sigmoid (values are
discounted single successes, in [0, 1], as LEO's). The goals are batched ([B, G, H] arrays), so
an all-goals update costs one trunk pass plus G heads of width ``teacher.head_width`` per
transition, not G passes. (Per-goal [width, H] feature kernels instead of the shared projection
cost ~3x more per iteration, measured, as the einsum over width x G x H dominates.)

**Learning (TD3-style, LEO-style targets).** Every transition trains every goal, off-policy,
from the current iteration's rollout (no replay buffer, as the discrete LEO teacher):

- targets y_g = r_g + gamma * (1 - done_g) * min_i Q_i(s', g, a'_g), done_g = g achieved OR
  episode ended, with a'_g = clip(pi(s')_g + clip(N(0, target_noise^2), +-target_noise_clip))
  (TD3's twin critics and target-policy smoothing); optionally Q(lambda) returns
  (``teacher.td_lambda``) through :func:`leo_teacher.losses.leo_lambda_targets`;
- the bootstrap values are computed while acting, by the networks of the start of the
  iteration, and stay fixed for the update's epochs: the rollout's snapshot *is* the target
  network, synced once per iteration (PQN/LEO's choice, DESIGN §1), instead of Polyak-averaged
  copies; it costs no second set of parameters and no second pass per minibatch;
- critic loss: 0.5 * mean over critics, batch and goals of (Q_i(s, g, a) - y_g)^2 at the action
  taken (:func:`leo_teacher.losses.leo_td_loss`); actor loss: deterministic policy gradient
  averaged over goals, on the critic's pre-sigmoid logit: -mean logit Q_1(s, g, pi(s)_g) with
  the critic held fixed (:func:`leo_teacher.losses.dpg_actor_loss`). The logit is a monotone
  transform of Q, so it has the same best action, but its action-gradient does not vanish where
  Q is near 0 (far goals, most of them early on) as the sigmoid's does: measured, ascending Q
  itself stalled the teacher at 0.30 success after 600k steps. One optimiser over both losses,
  each reaching only its own network.

When the teacher acts it adds Gaussian noise to its action for the commanded goal, with a
standard deviation annealed like epsilon (``teacher.eps_start`` -> ``teacher.eps_end``).

**Baselines.** ``pqn``/``pqn-her``/``all-goals-relabel`` on a continuous env put a
goal-conditioned actor-critic (obs, goal) -> action, (obs, goal, action) -> value in the
teacher's slot: TD3 with hindsight relabelling on the goals :meth:`Coordinator.training_goals`
picks, one network pass per (transition, goal).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from leo_teacher import losses
from leo_teacher.config import ConfigError
from leo_teacher.coordinator import Coordinator
from leo_teacher.envs.base import ObsSpec
from leo_teacher.networks import Trunk
from leo_teacher.state import ActorState, TrainState, Transition
from leo_teacher.updates import sgd_update

NUM_CRITICS = 2  # TD3's twin critics: the bootstrap takes their minimum


class AllGoalsActor(nn.Module):
    """Observation -> an action in [-1, 1]^D for every goal, [..., G, D]."""

    obs_spec: ObsSpec
    num_goals: int
    action_dim: int
    width: int
    depth: int

    @nn.compact
    def __call__(self, obs: jnp.ndarray) -> jnp.ndarray:
        h = Trunk(self.obs_spec, self.width, self.depth)(obs)
        a = nn.Dense(self.num_goals * self.action_dim)(h)
        return jnp.tanh(a.reshape(obs.shape[:-1] + (self.num_goals, self.action_dim)))


class AllGoalsCritic(nn.Module):
    """Q(s, g, a_g) for every goal at its own action: obs [B, Do], actions [B, G, D] -> [B, G].

    With ``goals`` (an int index array [K]) only those goals' heads are evaluated, for actions
    [B, K, D]: the same parameters, one goal at a time (used to check the all-goals update).
    """

    obs_spec: ObsSpec
    num_goals: int
    action_dim: int
    width: int
    depth: int
    head_width: int

    @nn.compact
    def __call__(self, obs: jnp.ndarray, actions: jnp.ndarray, goals: jnp.ndarray | None = None,
                 logits: bool = False) -> jnp.ndarray:
        G, D, H = self.num_goals, self.action_dim, self.head_width
        h = Trunk(self.obs_spec, self.width, self.depth)(obs)  # once per observation
        feat = nn.Dense(H)(h)[..., None, :]  # [B, 1, H], shared by the goals
        init = nn.initializers.lecun_normal()
        embed = self.param("goal_embedding", nn.initializers.normal(1.0), (G, H))
        act_kernel = self.param("goal_action_kernel", lambda k: init(k, (D, G * H)).reshape(D, G, H))
        out_kernel = self.param("goal_out_kernel", lambda k: init(k, (H, G)).T)
        out_bias = self.param("goal_out_bias", nn.initializers.zeros, (G,))
        if goals is not None:
            embed, act_kernel = embed[goals], act_kernel[:, goals]
            out_kernel, out_bias = out_kernel[goals], out_bias[goals]
        z = feat + embed + jnp.einsum("bgd,dgh->bgh", actions, act_kernel)
        z = nn.relu(nn.LayerNorm()(z))
        z = nn.relu(nn.LayerNorm()(nn.Dense(H)(z)))  # shared by the goals: nonlinear in a_g
        out = jnp.sum(z * out_kernel, axis=-1) + out_bias
        return out if logits else nn.sigmoid(out)


class AllGoalsActorCritic(nn.Module):
    """The continuous LEO teacher: one actor and NUM_CRITICS critics, each over all goals."""

    obs_spec: ObsSpec
    num_goals: int
    action_dim: int
    width: int
    depth: int
    head_width: int

    def setup(self):
        self.actor = AllGoalsActor(self.obs_spec, self.num_goals, self.action_dim, self.width, self.depth)
        self.critics = [
            AllGoalsCritic(self.obs_spec, self.num_goals, self.action_dim, self.width, self.depth, self.head_width)
            for _ in range(NUM_CRITICS)
        ]

    def __call__(self, obs):
        actions = self.act(obs)
        return actions, self.q(obs, actions)

    def act(self, obs):
        """Every goal's action [B, G, D]."""
        return self.actor(obs)

    def q(self, obs, actions, goals=None, logits=False):
        """Every critic's values [C, B, G] (or [C, B, K] for ``goals`` [K]); pre-sigmoid with ``logits``."""
        return jnp.stack([c(obs, actions, goals, logits) for c in self.critics])


class GoalActorCritic(nn.Module):
    """The baselines' goal-conditioned actor-critic: one pass per (state, goal) pair."""

    obs_spec: ObsSpec
    action_dim: int
    width: int
    depth: int

    def setup(self):
        self.actor_trunk = Trunk(self.obs_spec, self.width, self.depth)
        self.actor_out = nn.Dense(self.action_dim)
        self.critic_trunks = [Trunk(self.obs_spec, self.width, self.depth) for _ in range(NUM_CRITICS)]
        self.critic_outs = [nn.Dense(1) for _ in range(NUM_CRITICS)]

    def __call__(self, obs, goal):
        action = self.act(obs, goal)
        return action, self.q(obs, goal, action)

    def act(self, obs, goal):
        """The action for (obs, goal representation), [B, D]."""
        return jnp.tanh(self.actor_out(self.actor_trunk(obs, goal)))

    def q(self, obs, goal, action, logits=False):
        """Every critic's value [C, B]; pre-sigmoid with ``logits``."""
        x = jnp.concatenate([goal, action], axis=-1)
        out = jnp.stack([o(t(obs, x))[..., 0] for t, o in zip(self.critic_trunks, self.critic_outs)])
        return out if logits else nn.sigmoid(out)


def smoothed(rng: jax.Array, actions: jnp.ndarray, noise: float, noise_clip: float) -> jnp.ndarray:
    """TD3's target-policy smoothing: clip(a + clip(N(0, noise^2), +-noise_clip), -1, 1)."""
    eps = jnp.clip(noise * jax.random.normal(rng, actions.shape), -noise_clip, noise_clip)
    return jnp.clip(actions + eps, -1.0, 1.0)


def actor_only(params, actor_key: str = "actor"):
    """``params`` with everything but the actor's subtree held fixed (stop_gradient)."""
    frozen = jax.lax.stop_gradient(params)
    inner = dict(frozen["params"])
    for k in params["params"]:
        if k.startswith(actor_key):
            inner[k] = params["params"][k]
    return {**frozen, "params": inner}


class ContinuousCoordinator(Coordinator):
    """The coordinator for continuous actions; built by ``Coordinator(config, env)`` itself.

    Only the teacher (network, acting, update) and greedy policies differ from the discrete
    coordinator; the schedule, goal commanding, rollout, PPO students (through
    :class:`leo_teacher.distributions.DiagGaussian`), chunks and evaluation are shared.
    """

    def __init__(self, config, env, student_names=None):
        super().__init__(config, env, student_names)
        if self.schedule.student_is_q_learner:
            raise ConfigError(
                f"mode {config.coordinator.mode} needs discrete actions (a PQN student); on the "
                f"continuous env {env.name} use teacher-as-teacher, teacher-as-actor, student-only, "
                "random, pqn, pqn-her or all-goals-relabel"
            )
        for name, own in zip(self.student_names, self.student_schedules):
            if own.distils and own.distill_target not in ("kl", "argmax"):
                raise ConfigError(
                    f"distill_target {own.distill_target!r} (student {name}) needs discrete actions; on "
                    f"{env.name} use kl (KL to N(teacher action, distill_tau^2)) or argmax (the "
                    "teacher action's log-likelihood)"
                )
        self.action_dim = env.num_actions

    # ------------------------------------------------------------------ the network

    def _build_teacher(self, conv: int):
        t, env = self.config.teacher, self.env
        if self.schedule.goal_conditioned_teacher:
            return GoalActorCritic(env.obs_spec, env.num_actions, t.width, t.depth)
        return AllGoalsActorCritic(env.obs_spec, self.num_goals, env.num_actions, t.width, t.depth, t.head_width)

    def teacher_actions(self, params, obs: jnp.ndarray) -> jnp.ndarray:
        """All-goals teacher: every goal's action [B, G, D]."""
        return self.teacher_net.apply(params, obs, method="act")

    def teacher_q(self, params, obs: jnp.ndarray):
        """All-goals teacher: (every goal's action [B, G, D], its value min over critics [B, G])."""
        actions = self.teacher_actions(params, obs)
        return actions, self.teacher_net.apply(params, obs, actions, method="q").min(axis=0)

    def _goal_action(self, params, obs, goal):
        """The teacher's action for one goal per observation, [B, D] (either kind of teacher)."""
        if self.schedule.goal_conditioned_teacher:
            return self.teacher_net.apply(params, obs, self.teacher_goal_reps[goal], method="act")
        return self.teacher_actions(params, obs)[jnp.arange(obs.shape[0]), goal]

    def teacher_act(self, params, obs, goal):
        return self._goal_action(params, obs, goal)

    def _bootstrap(self, params, obs, rng):
        """min_i Q_i(s, g, smoothed pi(s)_g) for every goal, [B, G], and pi(s) [B, G, D]."""
        t = self.config.teacher
        actions = self.teacher_actions(params, obs)
        noisy = smoothed(rng, actions, t.target_noise, t.target_noise_clip)
        return self.teacher_net.apply(params, obs, noisy, method="q").min(axis=0), actions

    # ------------------------------------------------------------------ acting

    def _act(self, state: TrainState, actors: ActorState, k_act, k_eps, eps):
        sched, B, D, G = self.schedule, self.num_envs, self.action_dim, self.num_goals
        batch, params = jnp.arange(B), state.teacher.params
        if self.needs_teacher_values and sched.goal_conditioned_teacher:
            rep = self.teacher_goal_reps[actors.goal]
            a_goal = self.teacher_net.apply(params, actors.obs, rep, method="act")
            v_goal = self.teacher_net.apply(params, actors.obs, rep, a_goal, method="q").min(axis=0)
            q_max = jnp.zeros((B, 0))
        elif self.needs_teacher_values:
            # Every goal's bootstrap value at this state (the previous step's targets need it).
            q_max, actions = self._bootstrap(params, actors.obs, k_eps)
            a_goal, v_goal = actions[batch, actors.goal], q_max[batch, actors.goal]
        else:
            a_goal, v_goal, q_max = jnp.zeros((B, D)), jnp.zeros((B,)), jnp.zeros((B, G))
        q_goal = jnp.concatenate([a_goal, v_goal[:, None]], axis=-1)  # the teacher's record [B, D+1]
        if sched.needs_student:
            out, value = self._student_outputs(state.students, actors.obs, actors.goal)
        else:
            out, value = jnp.zeros((B, 2 * D)), jnp.zeros((B,))
        if sched.actor == "student":
            action, logp = self.dist.sample(k_act, out)
            return action, logp, value, q_goal, q_max
        if sched.actor == "teacher":
            action = jnp.clip(a_goal + eps * jax.random.normal(k_act, (B, D)), -1.0, 1.0)
        else:
            action = jax.random.uniform(k_act, (B, D), minval=-1.0, maxval=1.0)
        return action, self.dist.log_prob(out, action), value, q_goal, q_max

    # ------------------------------------------------------------------ the teacher update

    def _update_teacher(self, state: TrainState, actors: ActorState, traj: Transition, rng: jax.Array):
        cfg, sched = self.config, self.schedule
        T, B = traj.goal.shape
        k_sgd, k_goals, k_boot = jax.random.split(rng, 3)
        flat = lambda x: x.reshape((T * B,) + x.shape[2:])  # noqa: E731
        params = state.teacher.params
        if sched.goal_conditioned_teacher:
            goals = self.training_goals(k_goals, traj)  # [T, B, K]
            next_obs = jnp.concatenate([traj.obs[1:].astype(jnp.float32), actors.obs[None]], axis=0)
            next_v = jax.lax.map(lambda a: self._goal_bootstrap(params, *a),
                                 (next_obs, goals, jax.random.split(k_boot, T)))
            achieved = jnp.take_along_axis(traj.achieved, goals, axis=-1)
            loss_fn = self._goal_loss
            extra = {"goal": flat(goals)}
        else:
            last_v, _ = self._bootstrap(params, actors.obs, k_boot)
            next_v = jnp.concatenate([traj.teacher_q_max[1:], last_v[None]], axis=0)
            achieved, loss_fn, extra = traj.achieved, self._all_goals_loss, {}
        targets = losses.leo_lambda_targets(achieved, traj.episode_end, next_v, sched.teacher_gamma,
                                            cfg.teacher.td_lambda)
        data = {"obs": flat(traj.obs), "action": jnp.clip(flat(traj.action), -1.0, 1.0),
                "target": flat(targets), **extra}
        return sgd_update(k_sgd, state.teacher, self.teacher_tx, loss_fn, data,
                          cfg.teacher.minibatch_size, sched.teacher_epochs)

    def _goal_bootstrap(self, params, obs, goals, rng):
        """Goal-conditioned bootstrap values [B, K] for the K goal columns of one time step."""
        B, K = goals.shape
        o, rep = jnp.repeat(obs, K, axis=0), self.teacher_goal_reps[goals.reshape(-1)]
        a = self.teacher_net.apply(params, o, rep, method="act")
        t = self.config.teacher
        a = smoothed(rng, a, t.target_noise, t.target_noise_clip)
        return self.teacher_net.apply(params, o, rep, a, method="q").min(axis=0).reshape(B, K)

    def _all_goals_loss(self, params, b):
        """Critic TD loss over all goals at the taken action + the DPG actor loss over all goals."""
        obs = b["obs"].astype(jnp.float32)
        taken = jnp.broadcast_to(b["action"][:, None, :], (obs.shape[0], self.num_goals, self.action_dim))
        q = self.teacher_net.apply(params, obs, taken, method="q")  # [C, mb, G]
        critic = losses.leo_td_loss(q, b["target"])
        pi = self.teacher_net.apply(params, obs, method="act")
        q_pi = self.teacher_net.apply(actor_only(params), obs, pi, logits=True, method="q")[0]
        actor = losses.dpg_actor_loss(q_pi)
        return critic + actor, {"teacher_loss": critic, "teacher_actor_loss": actor, "teacher_q_mean": q.mean()}

    def _goal_loss(self, params, b):
        """The same two losses for the goal-conditioned baseline, on each transition's K goals."""
        mb, K = b["goal"].shape
        o = jnp.repeat(b["obs"].astype(jnp.float32), K, axis=0)
        rep = self.teacher_goal_reps[b["goal"].reshape(-1)]
        q = self.teacher_net.apply(params, o, rep, jnp.repeat(b["action"], K, axis=0), method="q")
        critic = losses.leo_td_loss(q.reshape(-1, mb, K), b["target"])
        pi = self.teacher_net.apply(params, o, rep, method="act")
        q_pi = self.teacher_net.apply(actor_only(params), o, rep, pi, logits=True, method="q")[0]
        actor = losses.dpg_actor_loss(q_pi)
        return critic + actor, {"teacher_loss": critic, "teacher_actor_loss": actor, "teacher_q_mean": q.mean()}
