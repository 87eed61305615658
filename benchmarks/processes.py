"""Training steps/s of one gridworld job in 1 process and in 2 JAX processes on this machine.

The two processes (``jax.distributed`` over loopback, gloo collectives) each drive one CPU
device and half of the env batch; on one machine they share its cores, so this shows the cost
of the multi-process path, not a speed-up.

    python benchmarks/processes.py --total-steps 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def train(run_dir: Path, processes: int, args: list[str]) -> float:
    """steps/s (summary.json, first chunk's compile included) of one job in ``processes`` processes."""
    cmd = [sys.executable, "-m", "leo_teacher.train", "--no-progress", "--run-dir", str(run_dir), *args]
    if processes == 1:
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    else:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        procs = [subprocess.Popen(cmd + ["--distributed"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  env={**os.environ, "JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{port}",
                                       "JAX_NUM_PROCESSES": str(processes), "JAX_PROCESS_ID": str(i)})
                 for i in range(processes)]
        for p in procs:
            if p.wait() != 0:
                raise SystemExit(f"process failed: {p.stderr.read()[-500:]}")
    return json.loads((run_dir / "summary.json").read_text())["steps_per_second"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--total-steps", default="1000000")
    p.add_argument("--set", action="append", default=[])
    a = p.parse_args()
    args = ["--env", "gridworld", "--total-steps", a.total_steps] + [x for s in a.set for x in ("--set", s)]
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1, 2):
            print(f"{n} process{'es' if n > 1 else ''}: {train(Path(tmp) / f'p{n}', n, args):,.0f} steps/s", flush=True)


if __name__ == "__main__":
    main()
