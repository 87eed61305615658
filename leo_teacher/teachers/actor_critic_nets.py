"""Networks of the continuous teachers: the all-goals actor-critic and the goal-conditioned TD3 pair.

The all-goals actor reads the observation once and outputs an action for every goal, [B, G, D]
(trunk, then Dense(G*D), tanh; or, with ``teacher.actor_head_width``, a per-goal hidden layer
before each goal's readout). A critic reads the observation once and gives each goal's value
at that goal's own action, Q(s, g, a_g) -> [B, G]: the trunk and a projection of its features
are computed once per observation (``teacher.critic_features=per-goal``: a projection per goal);
per goal the projection plus the goal's embedding plus the
goal's own linear map of a_g, LayerNorm + ReLU, a Dense + LayerNorm + ReLU layer shared by the
goals, and the goal's output unit, through a sigmoid (values are discounted single successes,
in [0, 1], as LEO's). The goals are batched ([B, G, H] arrays), so an all-goals update costs one
trunk pass plus G heads of width ``teacher.head_width`` per transition, not G passes. (Per-goal
[width, H] feature kernels instead of the shared projection cost more per iteration, as the
einsum over width x G x H dominates: docs/benchmarks.md.)
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from leo_teacher.core.networks import Trunk
from leo_teacher.envs.base import ObsSpec

NUM_CRITICS = 2  # TD3's twin critics: the bootstrap takes their minimum


def goal_conditioned_head_input(h, obs, goal_reps: tuple, goals, width: int) -> jnp.ndarray:
    """[..., G, width]: a projection of the trunk's features and one of the raw observation (both
    once per observation) plus one of each goal's representation (once per goal).

    The heads of ``teacher.head_goal_input=representation``: instead of a free embedding per
    goal, a head shared by the goals reads the goal's representation beside the observation, so
    what one goal's data teaches (say, stopping on a target) carries over to goals whose
    representations are near (as in a goal-conditioned network), while the trunk still runs once
    per observation. The raw observation enters linearly so that a head can form the offset
    between a position in the observation and a target in the representation.
    """
    reps = jnp.asarray(goal_reps, dtype=jnp.float32)
    if goals is not None:
        reps = reps[goals]
    state = nn.Dense(width)(h) + nn.Dense(width, use_bias=False)(obs.astype(jnp.float32))
    return state[..., None, :] + nn.Dense(width, use_bias=False)(reps)


class AllGoalsActor(nn.Module):
    """Observation -> an action in [-1, 1]^D for every goal, [..., G, D]."""

    obs_spec: ObsSpec
    num_goals: int
    action_dim: int
    width: int
    depth: int
    head_width: int = 0  # >0: a per-goal hidden layer of this width between the trunk and the readout
    input_norm: str = "layer_norm"
    goal_reps: tuple | None = None  # teacher.head_goal_input=representation: the goals' representations

    @nn.compact
    def __call__(self, obs: jnp.ndarray) -> jnp.ndarray:
        G, D, H = self.num_goals, self.action_dim, self.head_width
        h = Trunk(self.obs_spec, self.width, self.depth, input_norm=self.input_norm)(obs)
        if self.goal_reps is not None:  # one head shared by the goals, told the goal by its representation
            z = nn.relu(nn.LayerNorm()(goal_conditioned_head_input(h, obs, self.goal_reps, None, H or self.width)))
            return jnp.tanh(nn.Dense(D)(z))
        if H == 0:
            a = nn.Dense(G * D)(h)
            return jnp.tanh(a.reshape(obs.shape[:-1] + (G, D)))
        # Each goal's own Dense(H) + LayerNorm + ReLU on the trunk's features, then its readout:
        # a per-goal nonlinearity, for one trunk pass per observation.
        init = nn.initializers.lecun_normal()
        W = h.shape[-1]
        hidden = self.param("goal_hidden_kernel", lambda k: init(k, (W, G * H)).reshape(W, G, H))
        hidden_bias = self.param("goal_hidden_bias", nn.initializers.zeros, (G, H))
        out = self.param("goal_action_out", lambda k: init(k, (H, G * D)).reshape(H, G, D).transpose(1, 0, 2))
        out_bias = self.param("goal_action_bias", nn.initializers.zeros, (G, D))
        z = nn.relu(nn.LayerNorm()(jnp.einsum("...w,wgh->...gh", h, hidden) + hidden_bias))
        return jnp.tanh(jnp.einsum("...gh,ghd->...gd", z, out) + out_bias)


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
    features: str = "shared"  # teacher.critic_features: "shared" or "per-goal"
    input_norm: str = "layer_norm"
    goal_reps: tuple | None = None  # teacher.head_goal_input=representation: the goals' representations

    @nn.compact
    def __call__(self, obs: jnp.ndarray, actions: jnp.ndarray, goals: jnp.ndarray | None = None,
                 logits: bool = False) -> jnp.ndarray:
        G, D, H = self.num_goals, self.action_dim, self.head_width
        h = Trunk(self.obs_spec, self.width, self.depth, input_norm=self.input_norm)(obs)  # once per observation
        if self.goal_reps is not None:
            z = goal_conditioned_head_input(h, obs, self.goal_reps, goals, H) + nn.Dense(H, use_bias=False)(actions)
            z = nn.relu(nn.LayerNorm()(z))
            z = nn.relu(nn.LayerNorm()(nn.Dense(H)(z)))
            out = nn.Dense(1)(z)[..., 0]
            return out if logits else nn.sigmoid(out)
        init = nn.initializers.lecun_normal()
        if self.features == "per-goal":
            # Each goal reads the trunk's features through its own [width, H] kernel, so goals whose
            # values peak in different regions of the state space need not share one projection.
            W = h.shape[-1]
            kernel = self.param("goal_feature_kernel", lambda k: init(k, (W, G * H)).reshape(W, G, H))
            feat = jnp.einsum("...w,wgh->...gh", h, kernel if goals is None else kernel[:, goals])
        else:
            feat = nn.Dense(H)(h)[..., None, :]  # [B, 1, H], shared by the goals
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
    actor_head_width: int = 0
    critic_features: str = "shared"
    input_norm: str = "layer_norm"
    goal_reps: tuple | None = None

    def setup(self):
        self.actor = AllGoalsActor(self.obs_spec, self.num_goals, self.action_dim, self.width, self.depth,
                                   self.actor_head_width, self.input_norm, self.goal_reps)
        self.critics = [
            AllGoalsCritic(self.obs_spec, self.num_goals, self.action_dim, self.width, self.depth, self.head_width,
                           self.critic_features, self.input_norm, self.goal_reps)
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
    input_norm: str = "layer_norm"

    def setup(self):
        self.actor_trunk = Trunk(self.obs_spec, self.width, self.depth, input_norm=self.input_norm)
        self.actor_out = nn.Dense(self.action_dim)
        self.critic_trunks = [Trunk(self.obs_spec, self.width, self.depth, input_norm=self.input_norm)
                              for _ in range(NUM_CRITICS)]
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
