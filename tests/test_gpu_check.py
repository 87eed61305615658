"""benchmarks/gpu_check.py runs end to end; on a CPU at its tiny size."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_check_runs_the_paper_preset_at_a_tiny_size_on_cpu():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--games", "craftax-classic",
                          "--seconds", "0", "--chunk", "1"], cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "sizes: tiny (CPU)" in out.stdout
    line = next(x for x in out.stdout.splitlines() if x.startswith("craftax-classic"))
    steps_per_second = float(re.search(r"([\d,]+) steps/s", line).group(1).replace(",", ""))
    assert steps_per_second > 0 and "losses finite: True" in line and "peak host memory" in line
