"""benchmarks/compare_modes.py: the comparison's plan, its resume rule and its table (no training)."""

import importlib.util
import json

import pytest

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


def test_runs_and_cores_pick_part_of_the_comparison(tmp_path, capsys):
    argv = ["--out", str(tmp_path), "--dry-run", "--runs", "pqn-her-s1", "teacher-as-teacher-transformer-s0"]
    assert compare_modes.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "pqn-her-s1 " in lines[0] and "--student transformer" in lines[1]
    with pytest.raises(SystemExit) as e:  # a name not in the plan: refused, the known names listed
        compare_modes.main(["--out", str(tmp_path), "--dry-run", "--runs", "pqn-her-s7"])
    assert e.value.code == 2 and "pqn-her-s7" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:  # a core this process may not use
        compare_modes.main(["--out", str(tmp_path), "--dry-run", "--cores", "4096"])
    assert e.value.code == 2 and "--cores" in capsys.readouterr().err


def test_the_figure_dashes_the_teachers_of_mlp_students_only(tmp_path, monkeypatch):
    finished_run_dir(tmp_path / "teacher-as-teacher-s0", "teacher-as-teacher", 0.2, teacher=0.25)
    finished_run_dir(tmp_path / "teacher-as-teacher-transformer-s0", "teacher-as-teacher", 0.2, teacher=0.25,
                     student="transformer")
    finished_run_dir(tmp_path / "dual-leo-pqn-s0", "dual-leo-pqn", 0.15, teacher=0.05)
    finished_run_dir(tmp_path / "student-only-s0", "student-only", 0.1)
    import matplotlib.figure

    from leo_teacher import plots

    seen = {}

    def plot_comparison(groups, names, title, teachers):
        seen["teachers"] = teachers
        return matplotlib.figure.Figure()

    monkeypatch.setattr(plots, "plot_comparison", plot_comparison)
    groups = compare_modes.finished(tmp_path, compare_modes.plan([0]))
    assert "teacher-as-teacher (transformer student)" in groups
    compare_modes.write_figure(groups, tmp_path / "f.png", "t")
    assert seen["teachers"] == ["teacher-as-teacher", "dual-leo-pqn"]


def test_method_table_and_figure(tmp_path, capsys):
    finished_run_dir(tmp_path / "teacher-as-teacher-s0", "teacher-as-teacher", 0.2, teacher=0.25, live=0.4)
    finished_run_dir(tmp_path / "teacher-as-teacher-s1", "teacher-as-teacher", 0.3, teacher=0.35, live=0.2)
    finished_run_dir(tmp_path / "random-s0", "random", 0.1)
    finished_run_dir(tmp_path / "dual-leo-pqn-s0", "dual-leo-pqn", 0.15, teacher=0.05)
    actor = finished_run_dir(tmp_path / "teacher-as-actor-s0", "teacher-as-actor", 0.12) / "summary.json"
    summary = json.loads(actor.read_text())  # as the trainer writes it: the teacher is the evaluated actor
    actor.write_text(json.dumps(summary | {"evaluated_policy": "teacher",
                                           "policies": {"teacher": summary["policies"]["mlp"]}}))
    csv = actor.parent / "per_goal_success.csv"
    csv.write_text(csv.read_text().replace("success_mlp", "success_teacher"))
    runs = compare_modes.plan([0, 1])
    groups = compare_modes.finished(tmp_path, runs)
    for name in ("dual-leo-pqn", "teacher-as-actor"):
        groups.pop(name)
    assert list(groups) == ["teacher-as-teacher", "random"] and len(groups["teacher-as-teacher"]) == 2
    table = compare_modes.method_table(groups, "craftax-classic")
    # mean [min, max] over the two seeds; the paper's Dual LEO (PPO student) figure beside it
    assert ("| teacher-as-teacher | 2 | 0.250 [0.200, 0.300] | 0.300 [0.250, 0.350] | 0.300 [0.200, 0.400] "
            "| ~0.81 |") in table
    assert "| random | 1 | 0.100 | - | 0.300 | - |" in table
    assert "~0.26 |" in compare_modes.method_table(groups, "craftax")  # the 512-goal game's column
    # every student trained beside a teacher shows it (dual-leo-pqn too); the acting teacher does not
    both = compare_modes.finished(tmp_path, runs)
    table = compare_modes.method_table(both, "craftax-classic")
    assert "| dual-leo-pqn | 1 | 0.150 | 0.050 |" in table and "| teacher-as-actor | 1 | 0.120 | - |" in table
    png = tmp_path / "fig" / "compare.png"
    assert compare_modes.main(["--out", str(tmp_path), "--figure", str(png)]) == 0
    assert png.stat().st_size > 10_000 and f"figure: {png}" in capsys.readouterr().out


def _with_seed(run_dir, seed, eval_teacher=None):
    """A finished_run_dir with its seed in summary.json (and, if given, an eval/teacher curve)."""
    summary = json.loads((run_dir / "summary.json").read_text())
    (run_dir / "summary.json").write_text(json.dumps(summary | {"seed": seed}))
    if eval_teacher is not None:
        rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
        rows = [r | {"eval/teacher": eval_teacher * r["env_steps"] / 4096} for r in rows]
        (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_floor_orderings_and_families(tmp_path):
    for name, mode, seed, success, live in [("teacher-as-teacher-s0", "teacher-as-teacher", 0, 0.2, 0.4),
                                            ("teacher-as-teacher-s1", "teacher-as-teacher", 1, 0.3, 0.2),
                                            ("student-only-s0", "student-only", 0, 0.1, 0.5),
                                            ("student-only-s1", "student-only", 1, 0.15, 0.3),
                                            ("pqn-her-s0", "pqn-her", 0, 0.35, 0.1),
                                            ("random-s0", "random", 0, 0.1, 0.1)]:
        _with_seed(finished_run_dir(tmp_path / name, mode, success, live=live), seed,
                   eval_teacher=0.25 if mode == "teacher-as-teacher" else None)
    groups = compare_modes.finished(tmp_path, compare_modes.plan([0, 1]))
    assert compare_modes.paper_order("craftax-classic")[:3] == ["teacher-as-teacher", "student-only", "dual-leo-pqn"]
    assert compare_modes.paper_order("craftax")[:3] == ["teacher-as-teacher", "dual-leo-pqn", "teacher-as-actor"]
    assert [compare_modes.verdict(a, b) for a, b in [([0.3, 0.4], [0.1, 0.2]), ([0.1], [0.2, 0.3]), ([0.2, 0.4], [0.3])]] \
        == ["holds", "reversed", "within the seed spread"]
    # margins over the floor, per seed and mean, both metrics
    floor = compare_modes.floor_table(groups)
    assert "| teacher-as-teacher | s0 +0.100, s1 +0.200 | +0.150 | s0 +0.300, s1 +0.100 | +0.200 |" in floor
    assert "| pqn-her | s0 +0.250 | +0.250 | s0 +0.000 | +0.000 |" in floor and "| random |" not in floor
    assert compare_modes.floor_table({"pqn-her": groups["pqn-her"]}) == ""
    # the paper's orderings (a above b), checked on both metrics
    order = compare_modes.ordering_table(groups, "craftax-classic")
    assert "| teacher-as-teacher (~0.81) > student-only (~0.79) | +0.125 | holds | -0.100 | within the seed spread |" in order
    assert "| teacher-as-teacher (~0.81) > pqn-her (~0.67) | -0.100 | reversed | +0.200 | holds |" in order
    assert "| student-only (~0.79) > pqn-her (~0.67) | -0.225 | reversed | +0.300 | holds |" in order
    assert order.count("\n") == 1 + 3 and "random" not in order
    assert "| teacher-as-teacher (~0.26) > student-only (~0.13) |" in compare_modes.ordering_table(groups, "craftax")
    assert compare_modes.ordering_table({"pqn-her": groups["pqn-her"]}, "craftax") == ""
    # goal families: the made-up runs have inventory/wood (success 2x the run's) and tools/wood_pickaxe (0)
    fams = compare_modes.family_table(groups)
    assert "| method | inventory (1) | tools (1) |" in fams
    assert "| teacher-as-teacher | 0.500 [0.400, 0.600] | 0.000 [0.000, 0.000] |" in fams
    tables = compare_modes.tables(tmp_path, compare_modes.plan([0, 1]), groups, "craftax-classic")
    assert all(t in tables for t in (floor, order, fams))
    # the figure: the teacher of teacher-as-teacher dashed beside it; per-family whiskers over seeds
    import matplotlib

    matplotlib.use("Agg")
    from leo_teacher import plots

    fig = plots.plot_comparison(groups, ["inventory/wood", "tools/wood_pickaxe"], teachers=["teacher-as-teacher", "pqn-her"])
    greedy, _, families = fig.axes
    labels = [line.get_label() for line in greedy.get_lines()]
    assert "teacher-as-teacher: its teacher (n=2)" in labels and not any("pqn-her: its" in x for x in labels)
    dashed = next(line for line in greedy.get_lines() if line.get_label().startswith("teacher-as-teacher: its"))
    assert dashed.get_linestyle() == "--" and dashed.get_color() == "C0"
    assert len(families.containers) >= len(groups)  # one bar group per method (+ whiskers for multi-seed ones)
