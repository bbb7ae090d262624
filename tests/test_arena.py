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
# (same origin), read back with --dump-dom; Chromium's virtual time runs the cycle's timers.
PROBE = """<!doctype html><html><body>
<iframe id="arena" src="/list.html?arena&cycle=2" style="width:1920px;height:1080px;border:0"></iframe>
<iframe id="phone" src="/list.html" style="width:390px;height:844px;border:0"></iframe>
<pre id="out"></pre>
<script>
var seen = [];
function visible(doc) {
  return Array.prototype.filter.call(doc.querySelectorAll("section"), function (s) {
    var r = s.getBoundingClientRect(); return r.width > 0 && r.left >= -1 && r.right <= 1921 && r.top < 1080; }).length;
}
function sample() {
  var a = document.getElementById("arena").contentWindow.document;
  seen.push([a.body.dataset.page, visible(a)].join(":"));
}
setTimeout(sample, 500); setTimeout(sample, 2700); setTimeout(sample, 4900);
setTimeout(function () {
  var p = document.getElementById("phone").contentWindow.document, a = document.getElementById("arena").contentWindow.document;
  document.getElementById("out").textContent = "samples=" + seen.join(",") + ";phone_scroll=" +
    p.documentElement.scrollWidth + ";arena_class=" + a.body.className + ";";
}, 5200);
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
        m = re.search(r"samples=([^;]*);phone_scroll=(\d+);arena_class=([^;]*);", out.stdout)
        assert m, out.stdout[-2000:] + out.stderr[-2000:]
        samples = [tuple(int(x) for x in s.split(":")) for s in m.group(1).split(",")]
        assert m.group(3) == "arena"
        pages = [p for p, _ in samples]
        assert all(n > 1 for _, n in samples), f"more than one class on each arena screen: {samples}"
        # Cycle of 2 s, sampled at 0.5, 2.7 and 4.9 s: a new page each time.
        assert pages[0] == 0 and pages[1] == 1 and pages[2] in (2, 0), samples
        assert int(m.group(2)) <= 390, "the phone page scrolls sideways"
        # Screenshots, for the eye and the README.
        for name, size, query in (("arena", "1920,1080", "?arena&cycle=2"), ("phone", "390,844", "")):
            shot = tmp_path / f"{name}.png"
            chromium(f"--window-size={size}", f"--screenshot={shot}", f"{base}/list.html{query}")
            assert shot.exists() and shot.stat().st_size > 1000
    finally:
        server.shutdown()
