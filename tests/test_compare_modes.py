"""benchmarks/compare_modes.py: the comparison's plan, its resume rule and its table (no training)."""

import importlib.util
import json

from conftest import ROOT, finished_run_dir

spec = importlib.util.spec_from_file_location("compare_modes", ROOT / "benchmarks" / "compare_modes.py")
compare_modes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_modes)


def test_plan_resume_and_table(tmp_path, capsys):
    runs = compare_modes.plan([0, 1])
    assert len(runs) == 5 * 2 + 2 and len({r[0] for r in runs}) == len(runs)
    assert ("teacher-as-teacher-transformer-s0", "teacher-as-teacher", "transformer", 0) in runs
    assert ("random-s0", "random", "mlp", 0) in runs
    (tmp_path / "pqn-her-s1" / "checkpoints").mkdir(parents=True)  # interrupted: resumed
    done = tmp_path / "student-only-s0"
    done.mkdir()
    (done / "summary.json").write_text(json.dumps({"env_steps": 5_001_000, "success_rate": 0.1234,
                                                   "paper_live_success": 0.05}))
    assert compare_modes.main(["--out", str(tmp_path), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(runs) - 1 and not any("student-only-s0" in x for x in lines)
    assert [x.endswith("--resume") for x in lines].count(True) == 1
    assert next(x for x in lines if "pqn-her-s1" in x).endswith("--resume")
    table = compare_modes.table(tmp_path, runs)
    assert "| student-only-s0 | student-only | mlp | 0 | 5,001,000 | 0.123 | 0.050 |" in table
    assert table.count("not finished") == len(runs) - 1


def test_method_table_and_figure(tmp_path, capsys):
    finished_run_dir(tmp_path / "teacher-as-teacher-s0", "teacher-as-teacher", 0.2, teacher=0.25, live=0.4)
    finished_run_dir(tmp_path / "teacher-as-teacher-s1", "teacher-as-teacher", 0.3, teacher=0.35, live=0.2)
    finished_run_dir(tmp_path / "random-s0", "random", 0.1)
    runs = compare_modes.plan([0, 1])
    groups = compare_modes.finished(tmp_path, runs)
    assert list(groups) == ["teacher-as-teacher", "random"] and len(groups["teacher-as-teacher"]) == 2
    table = compare_modes.method_table(groups, "craftax-classic")
    # mean [min, max] over the two seeds; the paper's Dual LEO (PPO student) figure beside it
    assert ("| teacher-as-teacher | 2 | 0.250 [0.200, 0.300] | 0.300 [0.250, 0.350] | 0.300 [0.200, 0.400] "
            "| ~0.81 |") in table
    assert "| random | 1 | 0.100 | - | 0.300 | - |" in table
    assert "~0.26 |" in compare_modes.method_table(groups, "craftax")  # the 512-goal game's column
    png = tmp_path / "fig" / "compare.png"
    assert compare_modes.main(["--out", str(tmp_path), "--figure", str(png)]) == 0
    assert png.stat().st_size > 10_000 and f"figure: {png}" in capsys.readouterr().out
