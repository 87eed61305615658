"""Which goal to command next: pure weight functions for ``coordinator.goal_sampling``.

- ``uniform-seen`` (the paper's): every goal seen so far equally likely;
- ``frontier``: seen goals weighted by how undecided the teacher is about them at the current
  state, score 4 V (1 - V) (0 for V in {0, 1}, 1 at V = 0.5), V = max_a Q(s, g, a), the value
  the teacher already computed while acting (no extra network pass);
- ``progress``: seen goals weighted by the recent change of their live success, the absolute
  gap between a fast and a slow per-goal success rate, scaled by the largest gap among seen goals.

Both weighted samplers: p = (1 - floor) * softmax(score / temperature over seen goals)
+ floor * uniform over seen goals, so no seen goal starves; a goal never seen gets probability
0 (every goal is allowed before any is seen, as uniform-seen does).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

def allowed(seen: jnp.ndarray) -> jnp.ndarray:
    """The goals a sampler may command [G]: those seen, or every goal while none is seen."""
    return jnp.logical_or(seen, ~seen.any())


def uniform_probs(seen: jnp.ndarray) -> jnp.ndarray:
    """Uniform over the allowed goals [G]."""
    ok = allowed(seen).astype(jnp.float32)
    return ok / ok.sum()


def weighted_probs(score: jnp.ndarray, seen: jnp.ndarray, temperature: float, floor: float) -> jnp.ndarray:
    """(1 - floor) * softmax(score / temperature) + floor * uniform, both over allowed goals.

    ``score`` [..., G]; the result has its shape and sums to 1 over the last axis.
    """
    ok = allowed(seen)
    logits = jnp.where(ok, score / temperature, -jnp.inf)
    return (1.0 - floor) * jax.nn.softmax(logits, axis=-1) + floor * uniform_probs(seen)


def frontier_scores(values: jnp.ndarray) -> jnp.ndarray:
    """4 V (1 - V) of each goal's value (clipped to [0, 1]): 1 where undecided, 0 where sure."""
    v = jnp.clip(values, 0.0, 1.0)
    return 4.0 * v * (1.0 - v)


def success_rate(successes: jnp.ndarray, failures: jnp.ndarray) -> jnp.ndarray:
    """Per-goal success with one failure of prior, S / (S + F + 1), so a rarely tried goal reads low."""
    return successes / (successes + failures + 1.0)


def progress_scores(fast_s, fast_f, slow_s, slow_f, seen) -> jnp.ndarray:
    """|fast rate - slow rate| per goal [G], divided by its largest value among allowed goals."""
    gap = jnp.abs(success_rate(fast_s, fast_f) - success_rate(slow_s, slow_f))
    top = jnp.max(jnp.where(allowed(seen), gap, 0.0))
    return gap / jnp.maximum(top, 1e-6)


def entropy(probs: jnp.ndarray) -> jnp.ndarray:
    """Entropy (nats) of a distribution over goals [G]."""
    return -jnp.sum(jnp.where(probs > 0, probs * jnp.log(jnp.maximum(probs, 1e-30)), 0.0))


def draw(rng: jax.Array, probs: jnp.ndarray, num: int) -> jnp.ndarray:
    """``num`` goals from ``probs`` ([G] shared, or [num, G] one row per draw); zeros never drawn."""
    logits = jnp.where(probs > 0, jnp.log(jnp.maximum(probs, 1e-30)), -jnp.inf)
    shape = (num,) if probs.ndim == 1 else None
    return jax.random.categorical(rng, logits, shape=shape).astype(jnp.int32)
