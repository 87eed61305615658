"""A real multi-process run: two JAX processes on this machine (jax.distributed, loopback, gloo)."""

import json
import os
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT

TIMING = ("wall_seconds", "steps_per_second")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pair(run_dir, *args, timeout: int = 300):
    """``python -m leo_teacher.train --preset tiny --distributed`` as processes 0 and 1; their outputs."""
    port = free_port()
    procs = []
    for i in range(2):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{port}",
               "JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": str(i)}
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "leo_teacher.train", "--preset", "tiny", "--seed", "0", "--distributed",
             "--no-progress", "--run-dir", str(run_dir), *args],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        outs = [p.communicate(timeout=timeout) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
    return [out for out, _ in outs]


def rows(run_dir):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k not in TIMING} for x in lines]


@pytest.mark.slow
def test_two_processes_match_one_process_and_only_process_0_writes(tiny_run, tmp_path):
    one = tiny_run[0]  # the same command in one process, one device: the same global batch
    two = tmp_path / "two"
    out0, out1 = pair(two, "--set", "run.checkpoint_every=1")
    assert "per-goal success" in out0 and "process 1 of 2 done" in out1 and "per-goal success" not in out1
    a, b = rows(one), rows(two)
    assert len(a) == len(b) > 1  # one line per chunk: nobody wrote twice
    for ra, rb in zip(a, b):
        assert ra.keys() == rb.keys()
        for k in ra:
            np.testing.assert_allclose(ra[k], rb[k], rtol=1e-4, atol=1e-6, err_msg=k)
    assert json.loads((two / "summary.json").read_text())["success_rate"] == \
        json.loads((one / "summary.json").read_text())["success_rate"]

    # --resume across the pair: drop the newest checkpoint and continue from the one before it
    resumed = tmp_path / "resumed"
    shutil.copytree(two, resumed)
    newest = sorted((resumed / "checkpoints").glob("chunk_*"))[-1]
    shutil.rmtree(newest)
    cfg = (resumed / "config.yaml").read_text().replace(str(two), str(resumed))
    (resumed / "config.yaml").write_text(cfg)
    pair(resumed, "--resume")
    assert rows(resumed) == rows(two)
    assert (resumed / "per_goal_success.csv").read_text() == (two / "per_goal_success.csv").read_text()
