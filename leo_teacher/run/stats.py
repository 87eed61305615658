"""Statistics over seeds for sweeps: interquartile mean and its stratified bootstrap CI (rliable)."""

from __future__ import annotations

import numpy as np

BOOTSTRAP_REPS = 10_000


def iqm(scores) -> float:
    """The interquartile mean: the mean of the middle 50% of ``scores`` (25% cut at each end)."""
    from rliable import metrics

    return float(metrics.aggregate_iqm(np.asarray(scores, dtype=np.float64).reshape(-1, 1)))


def iqm_with_ci(scores, seed: int = 0, reps: int = BOOTSTRAP_REPS, size: float = 0.95) -> tuple[float, float, float]:
    """(IQM, CI low, CI high) of per-seed ``scores``: rliable's stratified bootstrap (one task,
    so runs are resampled with replacement), percentile interval, reproducible from ``seed``."""
    import warnings

    from rliable import library, metrics

    x = np.asarray(scores, dtype=np.float64).reshape(-1, 1)  # runs x tasks
    with warnings.catch_warnings():  # arch's notice that rliable passes a RandomState by its old name
        warnings.simplefilter("ignore", FutureWarning)
        point, interval = library.get_interval_estimates(
            {"s": x}, lambda a: np.array([metrics.aggregate_iqm(a)]), reps=reps,
            confidence_interval_size=size, random_state=np.random.RandomState(seed))
    return float(point["s"][0]), float(interval["s"][0, 0]), float(interval["s"][1, 0])
