"""The HTML result list's arena mode: the job's page (statuses in capitals, runners out labelled,
no empty header slots, arena on by setting or by ?arena on the URL), and in a real headless
Chromium at 1920x1080 and 390 px: several classes on the arena screen, the classes turn by
themselves within the cycle, no horizontal scroll on the phone. Screenshots land in the test's
folder. Skipped, with the reason, where Chromium is not installed (apt-get install -y chromium)."""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from test_timing_jobs import build_race

from t4o_tui.orienteering import html_lists
from t4o_tui.store.models import Artifact

from conftest import run_job

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


def result_page(db, db_path, tmp_path, **settings) -> str:
    run = run_job(db, db_path, "result-list", {"format": "html", **settings}, name="results")
    assert run.status == "succeeded", run.error
    art = Artifact.select().where(Artifact.run == run.id).get()
    return Path(art.path).read_text(encoding="utf-8")


def big_page(classes: int = 14, runners: int = 25) -> bytes:
    cols = [html_lists.Column("#", numeric=True), html_lists.Column("Name"), html_lists.Column("Club"),
            html_lists.Column("Time", numeric=True)]
    sections = [html_lists.Section(f"Class {c}", f"{runners}/{runners} finished",
                                   [[f"{i + 1}", f"Runner {c}-{i}", f"Club {i % 7}", f"{30 + i}:0{c % 10}"]
                                    for i in range(runners)]) for c in range(classes)]
    return html_lists.render_page("Arena test – Results", "Day 1 · updated 10:00:00", cols, sections,
                                  cycle_seconds=2)


def test_the_job_writes_capitals_labels_and_a_full_header(db, db_path, tmp_path):
    build_race(db, db_path, tmp_path, runners=30, started_ago=35 * 60)
    run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": 1000, "missing_probability": 0.3})
    run_job(db, db_path, "process-station-data", {})
    page = result_page(db, db_path, tmp_path)
    assert 'data-arena="0"' in page and "<script>" in page
    assert re.search(r"<td[^>]*>(MP|DNF)</td>", page), "statuses in capitals"
    assert "in forest" in page  # runners out are labelled
    assert not re.search(r"<td[^>]*>(mp|dnf|dsq|dns)</td>", page)
    meta = re.search(r'<div class="meta">([^<]*)</div>', page).group(1)
    assert " ·  · " not in meta and not meta.startswith(" ·") and "updated" in meta
    arena = result_page(db, db_path, tmp_path, arena=True, cycle=7)
    assert 'data-arena="1"' in arena and 'data-cycle="7"' in arena


def serve(folder: Path):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# A page that loads the list in frames of the two sizes and writes what it measures into its DOM
# (same origin), read back with --dump-dom; Chromium's virtual time runs the cycle's timers. The
# arena frame's turns are recorded as they happen (page, classes on screen, the frame's own clock
# in ms), so a frame that loads late under load shifts them all alike.
PROBE = """<!doctype html><html><body>
<iframe id="arena" src="/list.html?arena&cycle=2" style="width:1920px;height:1080px;border:0"></iframe>
<iframe id="phone" src="/list.html" style="width:390px;height:844px;border:0"></iframe>
<pre id="out"></pre>
<script>
var turns = [], done = false;
function visible(doc) {
  return Array.prototype.filter.call(doc.querySelectorAll("section"), function (s) {
    var r = s.getBoundingClientRect(); return r.width > 0 && r.left >= -1 && r.right <= 1921 && r.top < 1080; }).length;
}
function report() {
  if (done) return;
  done = true;
  var p = document.getElementById("phone").contentWindow.document, a = document.getElementById("arena").contentWindow.document;
  document.getElementById("out").textContent = "turns=" + turns.join(",") + ";phone_scroll=" +
    p.documentElement.scrollWidth + ";arena_class=" + a.body.className + ";";
}
document.getElementById("arena").addEventListener("load", function () {
  var w = this.contentWindow, a = w.document;
  function record() {
    var page = a.body.dataset.page, last = turns.length ? turns[turns.length - 1].split(":")[0] : null;
    if (page === last) return;
    turns.push([page, visible(a), Math.round(w.performance.now())].join(":"));
    if (turns.length >= 3) report();
  }
  record();
  new w.MutationObserver(record).observe(a.body, {attributes: true, attributeFilter: ["data-page"]});
});
setTimeout(report, 7800);  // within the virtual time budget, whatever was seen
</script></body></html>"""


def chromium(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
def test_arena_in_chromium_columns_cycle_and_phone(tmp_path):
    (tmp_path / "list.html").write_bytes(big_page())
    (tmp_path / "probe.html").write_text(PROBE, encoding="utf-8")
    server = serve(tmp_path)
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        out = chromium("--window-size=2400,2000", "--virtual-time-budget=8000", "--dump-dom", f"{base}/probe.html")
        m = re.search(r"turns=([^;]*);phone_scroll=(\d+);arena_class=([^;]*);", out.stdout)
        assert m, out.stdout[-2000:] + out.stderr[-2000:]
        turns = [tuple(int(x) for x in t.split(":")) for t in m.group(1).split(",") if t]
        assert m.group(3) == "arena"
        assert all(n > 1 for _, n, _ in turns), f"more than one class on each arena screen: {turns}"
        # Cycle of 2 s: the first screen, then a new one every 2 s by the frame's own clock.
        assert [p for p, _, _ in turns] == [0, 1, 2], turns
        gaps = [b - a for (_, _, a), (_, _, b) in zip(turns[1:], turns[2:], strict=False)]
        assert all(1900 <= g <= 2100 for g in gaps), turns
        assert int(m.group(2)) <= 390, "the phone page scrolls sideways"
        # Screenshots, for the eye and the README.
        for name, size, query in (("arena", "1920,1080", "?arena&cycle=2"), ("phone", "390,844", "")):
            shot = tmp_path / f"{name}.png"
            chromium(f"--window-size={size}", f"--screenshot={shot}", f"{base}/list.html{query}")
            assert shot.exists() and shot.stat().st_size > 1000
    finally:
        server.shutdown()
