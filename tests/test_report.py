"""The run report: a tiny run writes report.html, and headless Chromium renders its figures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest


CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")
# Runs before the page's images load: records errors (a broken image's too) and console.error.
PROBE_HEAD = """<script>
var leoErrors = [];
window.addEventListener('error', function (e) { leoErrors.push(String(e.message || (e.target && e.target.tagName) || e.type)); }, true);
var leoConsoleError = console.error;
console.error = function () { leoErrors.push([].join.call(arguments, ' ')); leoConsoleError.apply(console, arguments); };
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var r = {images: imgs.length, widths: imgs.map(function (i) { return i.complete ? i.naturalWidth : 0; }), errors: leoErrors};
  var p = document.createElement('pre'); p.id = 'leo-probe'; p.textContent = JSON.stringify(r);
  document.body.appendChild(p);
});
</script>"""


def chromium() -> str:
    """The Chromium binary; skip where there is none, unless CI (LEO_REQUIRE_CHROMIUM) installed it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("LEO_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is not installed, but LEO_REQUIRE_CHROMIUM is set (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def render_in_chromium(page: Path, work: Path) -> tuple[dict, str]:
    """(the probe's record of images and errors, Chromium's stderr) for ``page`` rendered headless
    (a copy with the probe, in ``work``)."""
    probed = work / ("probed_" + page.name)
    probed.write_text(page.read_text().replace("<head>", "<head>" + PROBE_HEAD, 1))
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr",
                               "--virtual-time-budget=5000", "--dump-dom", probed.as_uri()],
                              capture_output=True, text=True, timeout=120)
    dom = proc.stdout
    assert 'id="leo-probe"' in dom, f"the page's load handler never ran: {proc.stderr[-2000:]}"
    record = dom.split('id="leo-probe">', 1)[1].split("</pre>", 1)[0]
    return json.loads(record.replace("&quot;", '"').replace("&amp;", "&")), proc.stderr


def test_tiny_run_report_renders_in_chromium(tiny_run, tmp_path):
    from leo_teacher.cli.report import main

    run_dir, _ = tiny_run
    history = [json.loads(line) for line in (run_dir / "eval_history.jsonl").read_text().splitlines()]
    assert [h["iteration"] for h in history] == [20, 40, 60, 80]  # every chunk of the tiny preset, and the end
    assert set(history[-1]["success"]) == {"mlp", "teacher"} and "teacher_start_value" in history[-1]
    manifest = json.loads((run_dir / ".leo_teacher_manifest.json").read_text())["entries"]
    assert {"report.html", "eval_history.jsonl"} <= set(manifest)  # --overwrite may delete them

    out = tmp_path / "both.html"  # two runs side by side
    assert main([str(run_dir), str(run_dir), "--out", str(out)]) == 0
    assert out.read_text().count('<div class="run">') == 2
    assert main([str(run_dir), str(run_dir)]) == 2  # several runs need --out
    assert main([str(run_dir), "--out", str(out)]) == 2  # exists: --overwrite

    record, stderr = render_in_chromium(run_dir / "report.html", tmp_path)
    # curves, one heat map per policy, teacher vs student, calibration
    assert record["images"] == 5, record
    assert all(w > 0 for w in record["widths"]), record
    assert record["errors"] == [], record
    assert ":ERROR:CONSOLE" not in stderr, stderr[-2000:]
    html = (run_dir / "report.html").read_text()
    assert "http://" not in html and "https://" not in html  # self-contained: nothing to fetch
