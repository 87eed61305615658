"""Many devices (forced CPU host devices) and many seeds in one process."""

import json
import os

import numpy as np

from conftest import run_cli

TIMING = ("wall_seconds", "steps_per_second")
# Added to the suite's flags (conftest.py), which every run compared here must share.
TWO_DEVICES = {"XLA_FLAGS": (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()}


def _rows(run_dir):
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def _run(run_dir, *args, env=None):
    proc = run_cli("--preset", "tiny", "--seed", "0", "--run-dir", str(run_dir), "--no-progress", *args, env=env)
    assert proc.returncode == 0, proc.stderr
    return run_dir


def test_two_devices_match_one(tiny_run, tmp_path):
    # The shared tiny run (one device, same arguments) is the reference: one compile fewer.
    one = tiny_run[0]
    two = _run(tmp_path / "two", "--devices", "2", env=TWO_DEVICES)
    a, b = _rows(one), _rows(two)
    assert len(a) == len(b) > 1
    for ra, rb in zip(a, b):
        assert ra.keys() == rb.keys()
        for k in ra:
            np.testing.assert_allclose(ra[k], rb[k], rtol=1e-4, atol=1e-6, err_msg=k)
    assert json.loads((two / "summary.json").read_text())["success_rate"] == \
        json.loads((one / "summary.json").read_text())["success_rate"]


def test_devices_must_divide_the_batch(tmp_path):
    proc = run_cli("--preset", "tiny", "--devices", "2", "--set", "env.num_envs=33",
                   "--set", "teacher.minibatch_size=33", "--set", "student.minibatch_size=33",
                   "--run-dir", str(tmp_path / "r"), env=TWO_DEVICES)
    assert proc.returncode == 2
    assert "does not split over 2 devices" in proc.stderr


def test_four_seeds_in_one_process(tmp_path):
    run_dir = _run(tmp_path / "seeds", "--num-seeds", "4", "--total-steps", "10240")
    summary = json.loads((run_dir / "summary.json").read_text())
    per_seed = summary["success_rate_per_seed"]
    assert len(per_seed) == 4 and summary["seeds"] == [0, 1, 2, 3]
    np.testing.assert_allclose(summary["success_rate_mean"], np.mean(per_seed))
    np.testing.assert_allclose(summary["success_rate_std"], np.std(per_seed))
    assert (run_dir / "learning_curve.png").exists()
    assert len(_rows(run_dir)[-1]["live_success_per_seed"]) == 4
