"""The train CLI: outputs, determinism and clear errors."""

import csv
import json

import pytest

from conftest import run_cli

# Both files read the shared tiny run: one worker builds it once (pytest-xdist --dist loadgroup).
pytestmark = pytest.mark.xdist_group("tiny-run")

TIMING = ("wall_seconds", "steps_per_second")


def _metrics(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def test_run_directory_contents(tiny_run):
    run_dir, proc = tiny_run
    for name in ("config.yaml", "metrics.jsonl", "per_goal_success.csv", "learning_curve.png", "summary.json"):
        assert (run_dir / name).exists(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    for key in ("success_rate", "success_rate_reachable", "env_steps", "wall_seconds",
                "steps_per_second", "mode", "student", "env", "seed"):
        assert key in summary
    assert summary["mode"] == "teacher-as-teacher" and summary["env"] == "gridworld"
    with open(run_dir / "per_goal_success.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:3] == ["goal", "name", "reachable"]
    assert len(rows) == summary["num_goals"]
    assert "per-goal success" in proc.stdout


def test_same_seed_same_results(tiny_run, tmp_path):
    run_dir, _ = tiny_run
    again = tmp_path / "again"
    proc = run_cli("--preset", "tiny", "--seed", "0", "--run-dir", str(again), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert _metrics(again) == _metrics(run_dir)
    assert (again / "per_goal_success.csv").read_text() == (run_dir / "per_goal_success.csv").read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--student", "nosuch"], "unknown student 'nosuch'; valid students: mlp"),
        (["--mode", "solo"], "unknown mode 'solo'; valid modes:"),
        (["--set", "student.minibatch_size=100"], "does not divide the rollout size"),
        (["--env", "atari"], "valid envs: gridworld"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message, tmp_path):
    proc = run_cli("--preset", "tiny", "--run-dir", str(tmp_path / "r"), *args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_existing_run_is_not_touched(tiny_run):
    run_dir, _ = tiny_run
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    proc = run_cli("--preset", "tiny", "--run-dir", str(run_dir))
    assert proc.returncode == 2
    assert "already holds a run" in proc.stderr and "--overwrite" in proc.stderr
    assert "Traceback" not in proc.stderr
    after = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    assert after == before
