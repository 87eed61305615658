"""The run report: one self-contained HTML file (figures embedded as PNG) for one or more runs.

Read from the files a run directory holds (metrics.jsonl, eval_history.jsonl,
per_goal_success.csv, summary.json, config.yaml); several runs stand side by side, one
column each. Training writes ``report.html`` into the run directory at the end of every run.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from leo_teacher.config import ConfigError
from leo_teacher.run import report_figures as figs
from leo_teacher.run import rundir

REPORT = "report.html"
STYLE = """
body { font-family: sans-serif; margin: 1em; }
.runs { display: flex; gap: 1.5em; align-items: flex-start; overflow-x: auto; }
.run { flex: 1 1 0; min-width: 520px; }
img { max-width: 100%; display: block; margin: 0.5em 0; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
pre { background: #f4f4f4; padding: 0.5em; font-size: 0.8em; max-height: 30em; overflow: auto; }
"""


class RunFiles:
    """What the report needs from one run directory; ConfigError if it is not a run's."""

    def __init__(self, run_dir: Path):
        self.dir = Path(run_dir)
        # a run of zero steps (an evaluation floor) has a summary but no metrics rows
        if not any((self.dir / f).exists() for f in ("metrics.jsonl", "summary.json")):
            raise ConfigError(f"{self.dir} holds no metrics.jsonl or summary.json, so it is not a "
                              "leo-teacher run directory; pass the --run-dir of a training run")
        self.rows = rundir.read_metrics(self.dir)
        self.history = rundir.read_eval_history(self.dir)
        self.summary = _json(self.dir / "summary.json")
        self.config = (self.dir / "config.yaml").read_text() if (self.dir / "config.yaml").exists() else ""
        self.names, self.reachable, self.success = [], np.zeros(0, bool), {}
        table = self.dir / "per_goal_success.csv"
        if table.exists():
            with open(table) as f:
                col = list(csv.DictReader(f))
            self.names = [r["name"] for r in col]
            self.reachable = np.array([r["reachable"] == "1" for r in col], dtype=bool)
        if self.history:  # the last evaluation: per policy, with their own names
            self.success = {k: np.asarray(v) for k, v in self.history[-1]["success"].items()}
        if len(self.reachable) == 0 and self.success:
            self.reachable = np.ones(len(next(iter(self.success.values()))), bool)
            self.names = [str(g) for g in range(len(self.reachable))]


def _json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _img(fig) -> str:
    """The figure as an <img> with its PNG inlined (base64), then closed."""
    if fig is None:
        return ""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return f'<img alt="figure" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _summary_table(run: RunFiles) -> str:
    pols = run.summary.get("policies", {})
    if not pols:
        return "<p>no summary.json: the run has not finished</p>"
    head = "<tr><th>policy</th><th>all goals</th><th>reachable goals</th></tr>"
    body = "".join(f"<tr><td>{html.escape(n)}</td><td>{s['success_rate']:.3f}</td>"
                   f"<td>{s['success_rate_reachable']:.3f}</td></tr>" for n, s in pols.items())
    s = run.summary
    facts = (f"{s.get('env_steps', 0):,} env steps, {s.get('wall_seconds', 0):.0f} s, "
             f"{s.get('goals_seen', '?')} goals seen, paper live success {s.get('paper_live_success') or 0:.3f}")
    return f"<p>{html.escape(facts)}</p><table>{head}{body}</table>"


def run_section(run: RunFiles) -> str:
    """One run's column: headline figures, curves, per-goal views, calibration, config."""
    s = run.summary
    title = " / ".join(str(s.get(k, "?")) for k in ("env", "mode", "student", "seed")) if s else run.dir.name
    parts = [f"<h2>{html.escape(run.dir.name)}</h2><p>{html.escape(title)}</p>", _summary_table(run),
             "<h3>learning curves</h3>", _img(figs.learning_curves(run.rows, run.history))]
    if run.history:
        parts.append(f"<h3>per-goal success over time ({len(run.history)} evaluations)</h3>")
        parts += [_img(figs.goal_heatmap(run.history, run.names, p)) for p in run.success]
    vs = figs.teacher_vs_students(run.success, run.reachable)
    if vs is not None:
        parts += ["<h3>teacher against each student, per goal</h3>", _img(vs)]
    values = run.history[-1].get("teacher_start_value") if run.history else None
    if values is not None and "teacher" in run.success:
        parts += ["<h3>teacher calibration</h3>",
                  _img(figs.calibration(np.asarray(values), run.success["teacher"], run.reachable))]
    parts += ["<h3>config</h3>", f"<pre>{html.escape(run.config)}</pre>"]
    return f'<div class="run">{"".join(parts)}</div>'


def render(run_dirs: Sequence[Path]) -> str:
    """The report's HTML for ``run_dirs`` (side by side), self-contained."""
    runs = [RunFiles(Path(d)) for d in run_dirs]
    names = ", ".join(r.dir.name for r in runs)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>leo-teacher report: {html.escape(names)}"
            f"</title><style>{STYLE}</style></head><body><h1>leo-teacher run report</h1>"
            f"<div class='runs'>{''.join(run_section(r) for r in runs)}</div></body></html>\n")


def write_report(run_dirs: Sequence[Path], out: Path | None = None, overwrite: bool = False) -> Path:
    """Write the report; default path: the single run's ``report.html`` (in its manifest).

    ``out`` names another file: ConfigError if it exists and not ``overwrite``.
    """
    run_dirs = [Path(d) for d in run_dirs]
    if out is None:
        if len(run_dirs) != 1:
            raise ConfigError("several runs go into one report: pass --out FILE.html")
        out = run_dirs[0] / REPORT
        text = render(run_dirs)
        rundir.record(run_dirs[0], REPORT, REPORT + ".tmp")
    else:
        out = Path(out)
        if out.exists() and not overwrite:
            raise ConfigError(f"--out {out} exists; pass --overwrite to replace it or choose another --out")
        text = render(run_dirs)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(out)
    return out
