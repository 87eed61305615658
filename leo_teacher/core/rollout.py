"""One rollout: who acts (a table of actor functions), goal commanding, what each step records.

Goal commanding (DESIGN §1): a new goal, drawn from the goals seen so far (uniformly, or as
``coordinator.goal_sampling`` says: :mod:`leo_teacher.core.curriculum`), when the commanded one
is achieved or the episode ends. The values frontier reads are the teacher's at the step's
state, computed while acting: one step before the new goal's first state. Two live success rates come from the training
rollouts, both about the first commanded goal of each episode:

- ``live_success``: successes over decided first goals, all goals pooled, counts decayed by
  ``LIVE_DECAY`` per iteration;
- ``paper_live_success``, the metric of the paper's reference code (DESIGN §5): per goal g,
  successes S_g (first goal g achieved) and failures F_g (an episode ended while on its first
  goal g; a step that does both counts both), each (count + this iteration's) * ``PAPER_DECAY``;
  the rate S_g / (S_g + F_g + 1e-7) averaged over all G goals, a goal never commanded counting 0.

Where the teacher acts in envs of its own (``coordinator.teacher_env_share``), both count the
students' envs only: they measure the policy the run is about.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from leo_teacher.core import curriculum
from leo_teacher.core.state import ActorState, TrainState, Transition

LIVE_DECAY = 0.9  # per-iteration decay of the live success counts
PAPER_DECAY = 0.999  # per-iteration decay of the paper metric's per-goal counts
# The progress sampler's fast per-goal counts: the same events as the paper metric's (its slow
# counts), forgotten within tens of iterations, so their gap is the recent change.
FAST_DECAY = 0.9
COUNTERS = ("goals_seen", "live_success", "paper_live_success", "epsilon", "goal_entropy")  # read at a chunk's end


def count_first_goals(successes, failures, goal, first_goal, hit, episode_end):
    """One step's update of the paper metric's per-goal counts [G] (not yet decayed).

    ``goal`` [B] commanded goals, ``first_goal`` [B] whether it is the episode's first, ``hit``
    [B] achieved on this step, ``episode_end`` [B]: success where first & hit, failure where
    first & the episode ended (both on a step that does both, as the reference counts).
    """
    successes = successes.at[goal].add(jnp.logical_and(first_goal, hit).astype(jnp.float32))
    failures = failures.at[goal].add(jnp.logical_and(first_goal, episode_end).astype(jnp.float32))
    return successes, failures


def paper_live_success(successes: jnp.ndarray, failures: jnp.ndarray) -> jnp.ndarray:
    """The paper's headline live figure from per-goal counts [G]: mean of S / (S + F + 1e-7)."""
    return jnp.mean(successes / (successes + failures + 1e-7))


def sample_goals(rng: jax.Array, seen: jnp.ndarray, num: int) -> jnp.ndarray:
    """Goals drawn uniformly from those seen so far (from all goals if none seen yet)."""
    any_seen = seen.any()
    logits = jnp.where(jnp.logical_or(seen, ~any_seen), 0.0, -jnp.inf)
    return jax.random.categorical(rng, logits, shape=(num,)).astype(jnp.int32)


def command_goals(c, rng: jax.Array, seen: jnp.ndarray, values: jnp.ndarray, actors: ActorState):
    """Next goals [B] under ``coordinator.goal_sampling`` and the distribution drawn from
    ([G], or [B, G] for frontier); ``values`` [B, G]: each goal's value at the step's state."""
    cc = c.config.coordinator
    if cc.goal_sampling == "uniform-seen":
        return sample_goals(rng, seen, c.num_envs), curriculum.uniform_probs(seen)
    if cc.goal_sampling == "frontier":
        score = curriculum.frontier_scores(values)
    else:
        score = curriculum.progress_scores(actors.fast_successes, actors.fast_failures, actors.paper_successes,
                                           actors.paper_failures, seen)
    probs = curriculum.weighted_probs(score, seen, cc.goal_temperature, cc.goal_floor)
    return curriculum.draw(rng, probs, c.num_envs), probs


# Actors: (coordinator, keys, students' outputs and values, teacher advice, epsilon)
#   -> (action, behaviour log-probability, the value the rollout records).
def students_act(c, k_act, k_eps, out, value, advice, eps):
    return c.learner.act(k_act, k_eps, out, value, advice, eps)


def teacher_acts(c, k_act, k_eps, out, value, advice, eps):
    action = c.teacher.explore(k_act, k_eps, advice, eps)
    return action, c.dist.log_prob(out, action), value


def random_acts(c, k_act, k_eps, out, value, advice, eps):
    action = c.dist.uniform(k_act, out.shape[0])
    return action, c.dist.log_prob(out, action), value


ACTORS = {"student": students_act, "teacher": teacher_acts, "random": random_acts}


def select_envs(use: jnp.ndarray, a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
    """Actions ``a`` where ``use`` [B] holds, ``b`` elsewhere (actions [B] or [B, D])."""
    return jnp.where(use.reshape(use.shape + (1,) * (a.ndim - 1)), a, b)


def mixed_acts(act, beta: jnp.ndarray):
    """An actor where, in each env and step, the teacher acts greedily with probability ``beta``
    (a distill run's early iterations) and ``act`` acts otherwise; the log-probability is the
    student's of the action taken."""

    def mixed(c, k_act, k_eps, out, value, advice, eps):
        k_own, k_mix = jax.random.split(k_act)
        action, _, value = act(c, k_own, k_eps, out, value, advice, eps)
        teacher = c.teacher.explore(k_own, k_eps, advice, jnp.zeros(()))
        action = select_envs(jax.random.uniform(k_mix, (action.shape[0],)) < beta, teacher, action)
        return action, c.dist.log_prob(out, action), value

    return mixed


def teacher_in_own_envs(act, first: int):
    """An actor where the learning teacher acts epsilon-greedily on its commanded goal in envs
    ``first`` onwards (its share, ``coordinator.teacher_env_share``) and ``act`` in the others.
    Only the students' own slices reach their updates, so the log-probabilities recorded in the
    teacher's envs are never read."""

    def split(c, k_act, k_eps, out, value, advice, eps):
        k_own, k_teacher = jax.random.split(k_act)
        action, logp, value = act(c, k_own, k_eps, out, value, advice, eps)
        teacher = c.teacher.explore(k_teacher, jax.random.fold_in(k_eps, 1), advice, eps)
        return select_envs(jnp.arange(action.shape[0]) >= first, teacher, action), logp, value

    return split


def student_slice(c, i: int, x: jnp.ndarray, axis: int = 0) -> jnp.ndarray:
    """Student i's contiguous share of the env batch along ``axis``."""
    n = c.slice_size
    return jax.lax.slice_in_dim(x, i * n, (i + 1) * n, axis=axis)


def student_outputs(c, learners: tuple, obs: jnp.ndarray, goal: jnp.ndarray):
    """Each student on its slice of envs; concatenated (policy output [B, P], value [B]), zeros
    in the teacher's own envs (``coordinator.teacher_env_share``)."""
    outs = [
        s.apply(learner.params, student_slice(c, i, obs), c.goal_reps[student_slice(c, i, goal)])
        for i, (s, learner) in enumerate(zip(c.students, learners))
    ]
    out, value = jnp.concatenate([o[0] for o in outs]), jnp.concatenate([o[1] for o in outs])
    if c.teacher_envs:
        out = jnp.concatenate([out, jnp.zeros((c.teacher_envs,) + out.shape[1:], out.dtype)])
        value = jnp.concatenate([value, jnp.zeros((c.teacher_envs,), value.dtype)])
    return out, value


def rollout(c, state: TrainState, rng: jax.Array) -> tuple[ActorState, Transition]:
    """``env.rollout_steps`` steps of the whole env batch under the mode's actor (``c``: the coordinator)."""
    B, eps = c.num_envs, c.schedule.epsilon(state.iteration)
    act = ACTORS[c.mode.actor]
    if c.config.coordinator.teacher_act_start > 0:
        act = mixed_acts(act, c.schedule.teacher_share(state.iteration))
    if c.teacher_envs:
        act = teacher_in_own_envs(act, c.student_envs)
    # The live success rates are the students': the teacher's own envs are not counted.
    counted = jnp.arange(B) < c.student_envs

    def step(actors: ActorState, key):
        k_act, k_eps, k_env, k_goal = jax.random.split(key, 4)
        if c.needs_teacher_values:
            advice, bootstrap, greedy = c.teacher.observe(state.teacher.params, actors.obs, actors.goal, k_eps)
        else:
            advice, bootstrap, greedy = c.teacher.blank(B)
        if c.schedule.needs_student:
            out, value = student_outputs(c, state.students, actors.obs, actors.goal)
        else:
            out, value = jnp.zeros((B, c.policy_size)), jnp.zeros((B,))
        action, logp, value = act(c, k_act, k_eps, out, value, advice, eps)
        env_state, res = c.env.step(k_env, actors.env_state, action)
        achieved = c.goal_set.achieved(res.next_obs)
        hit = achieved[jnp.arange(B), actors.goal]
        goal_done = jnp.logical_or(hit, res.episode_end)
        seen = jnp.logical_or(actors.seen, achieved.any(axis=0))
        first = actors.first_goal & counted
        decided = jnp.logical_and(first, goal_done)  # the episode's first goal is decided
        new_goal, probs = command_goals(c, k_goal, seen, bootstrap, actors)
        drawn = goal_done.astype(jnp.float32)
        paper = count_first_goals(actors.paper_successes, actors.paper_failures, actors.goal, first,
                                  hit, res.episode_end)
        fast = count_first_goals(actors.fast_successes, actors.fast_failures, actors.goal, first,
                                 hit, res.episode_end)
        tr = Transition(obs=actors.obs.astype(c.obs_store_dtype), action=action, goal=actors.goal,
                        reward=hit.astype(jnp.float32), goal_done=goal_done, episode_end=res.episode_end,
                        achieved=achieved, logp=logp, value=value, advice=advice, teacher_bootstrap=bootstrap,
                        teacher_greedy=greedy)
        actors = ActorState(
            env_state=env_state,
            obs=res.obs,
            goal=jnp.where(goal_done, new_goal, actors.goal),
            first_goal=jnp.where(res.episode_end, True, jnp.where(hit, False, actors.first_goal)),
            seen=seen,
            live_successes=actors.live_successes + jnp.sum(decided & hit),
            live_attempts=actors.live_attempts + jnp.sum(decided),
            paper_successes=paper[0],
            paper_failures=paper[1],
            fast_successes=fast[0],
            fast_failures=fast[1],
            commanded=actors.commanded.at[new_goal].add(drawn),
            command_mass=actors.command_mass + (drawn @ probs if probs.ndim == 2 else drawn.sum() * probs),
        )
        return actors, tr

    actors = state.actors.replace(
        live_successes=state.actors.live_successes * LIVE_DECAY,
        live_attempts=state.actors.live_attempts * LIVE_DECAY,
    )
    # The goal-draw tallies cover one metrics line: they restart with each chunk of log_every iterations.
    keep = (state.iteration % c.config.run.log_every != 0).astype(jnp.float32)
    actors = actors.replace(commanded=actors.commanded * keep, command_mass=actors.command_mass * keep)
    actors, traj = jax.lax.scan(step, actors, jax.random.split(rng, c.config.env.rollout_steps))
    actors = actors.replace(paper_successes=actors.paper_successes * PAPER_DECAY,
                            paper_failures=actors.paper_failures * PAPER_DECAY,
                            fast_successes=actors.fast_successes * FAST_DECAY,
                            fast_failures=actors.fast_failures * FAST_DECAY)
    return actors, traj
