"""Statistics over seeds for sweeps: interquartile mean and its stratified bootstrap CI.

The IQM is rliable's (``aggregate_iqm``, a 25% trimmed mean). The interval is rliable's
stratified percentile bootstrap (runs resampled with replacement within each task),
written here in vectorised numpy with a seeded Generator: rliable's own passes its
RandomState to arch under a deprecated name that does not make it reproducible, and runs one
Python call per replicate (tests/test_sweep.py checks the two agree).
"""

from __future__ import annotations

import numpy as np

BOOTSTRAP_REPS = 10_000


def _runs_by_tasks(scores) -> np.ndarray:
    x = np.asarray(scores, dtype=np.float64)
    return x.reshape(-1, 1) if x.ndim == 1 else x


def iqm(scores) -> float:
    """The interquartile mean: the mean of the middle 50% of ``scores`` (25% cut at each end)."""
    from rliable import metrics

    return float(metrics.aggregate_iqm(_runs_by_tasks(scores)))


def iqm_with_ci(scores, seed: int = 0, reps: int | None = None, size: float = 0.95) -> tuple[float, float, float]:
    """(IQM, CI low, CI high) of ``scores`` ([runs] or [runs, tasks]): the stratified bootstrap
    percentile interval of the IQM from ``reps`` replicates, the same for the same ``seed``."""
    from scipy.stats import trim_mean

    x = _runs_by_tasks(scores)
    runs, tasks = x.shape
    reps = BOOTSTRAP_REPS if reps is None else reps
    idx = np.random.default_rng(seed).integers(0, runs, size=(reps, runs, tasks))
    samples = x[idx, np.arange(tasks)]  # [reps, runs, tasks]: runs resampled within each task
    stats = trim_mean(samples.reshape(reps, -1), 0.25, axis=1)
    low, high = np.percentile(stats, [100 * (1 - size) / 2, 100 * (1 + size) / 2])
    return iqm(x), float(low), float(high)
