"""Sweep statistics against numpy on known numbers, and the sweep's grid parsing and tables."""

from __future__ import annotations

import numpy as np
import pytest

from leo_teacher.config import ConfigError
from leo_teacher.run import sweep
from leo_teacher.run.stats import iqm, iqm_with_ci


def numpy_iqm(x):
    x = np.sort(np.asarray(x, dtype=np.float64))
    cut = len(x) // 4
    return x[cut: len(x) - cut].mean()


def rliable_ci(x, reps, seed, size=0.95):
    """rliable's own stratified bootstrap interval of the IQM (slow: small ``reps``)."""
    import warnings

    from rliable import library, metrics

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        _, ci = library.get_interval_estimates({"x": np.asarray(x).reshape(-1, 1)},
                                               lambda a: np.array([metrics.aggregate_iqm(a)]), reps=reps,
                                               confidence_interval_size=size, random_state=np.random.RandomState(seed))
    return ci["x"][:, 0]


def test_iqm_is_the_mean_of_the_middle_half():
    assert iqm([1, 2, 3, 4, 5, 6, 7, 8]) == pytest.approx(4.5)  # (3 + 4 + 5 + 6) / 4
    assert iqm([0.0, 10.0, 0.5, 0.6]) == pytest.approx(0.55)  # outliers cut
    x = np.random.default_rng(1).uniform(size=12)
    assert iqm(x) == pytest.approx(numpy_iqm(x))


def test_bootstrap_ci_brackets_the_iqm_and_matches_numpy():
    scores = [0.62, 0.70, 0.71, 0.75, 0.80, 0.81, 0.90, 0.95]
    point, low, high = iqm_with_ci(scores, seed=0, reps=20_000)
    assert point == pytest.approx(numpy_iqm(scores))
    assert low < point < high
    # An independent numpy re-implementation (per replicate, a loop) with the same seed.
    rng = np.random.default_rng(0)
    x = np.asarray(scores)
    stats = [numpy_iqm(x[rng.integers(0, len(x), (len(x), 1))[:, 0]]) for _ in range(20_000)]
    assert (low, high) == pytest.approx(tuple(np.percentile(stats, [2.5, 97.5])))
    ref_low, ref_high = rliable_ci(scores, reps=500, seed=0)  # rliable's: another random stream
    assert low == pytest.approx(ref_low, abs=0.03) and high == pytest.approx(ref_high, abs=0.03)
    assert iqm_with_ci(scores, seed=0, reps=20_000) == (point, low, high)  # same seed, same interval
    assert iqm_with_ci([0.5] * 4, reps=200) == (0.5, 0.5, 0.5)  # no spread, no interval


def test_grid_parsing_and_tables(tmp_path):
    grid = sweep.parse_grid(["teacher.lr=1e-4,5e-4", "coordinator.distill_coef=0.1,0.3"])
    combos = sweep.combinations(grid)
    assert len(combos) == 4 and combos[1] == {"teacher.lr": "1e-4", "coordinator.distill_coef": "0.3"}
    for bad in (["teacher.lr"], ["lr=1"], ["teacher.lr="], ["teacher.lr=1", "teacher.lr=2"], []):
        with pytest.raises(ConfigError):
            sweep.parse_grid(bad)
    summaries = {sweep.combo_name(c): {"success_rate_reachable_per_seed": [0.1 * i, 0.2, 0.3, 0.4]}
                 for i, c in enumerate(combos)}
    rows, table = sweep.run_sweep(grid, lambda c, d: summaries[d.name], tmp_path / "s", "success_rate_reachable", False)
    assert [r["iqm"] for r in rows] == pytest.approx([numpy_iqm(s["success_rate_reachable_per_seed"])
                                                      for s in summaries.values()])
    assert (tmp_path / "s" / "sweep.png").stat().st_size > 0 and "| 5e-4 | 0.3 | 4 |" in table
    with pytest.raises(ConfigError, match="already holds a sweep"):
        sweep.run_sweep(grid, lambda c, d: summaries[d.name], tmp_path / "s", "success_rate_reachable", False)
