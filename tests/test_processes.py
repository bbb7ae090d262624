"""Real processes on one database: two workers, SIGKILL, SIGTERM, cancel from the CLI, no Textual."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time

import pytest

from t4o_tui.engine import queue
from t4o_tui.engine.runs import get_run, run_log
from t4o_tui.engine.tasks import create_task
from t4o_tui.store.models import Run, TestMark

from conftest import child_env, wait_for, write_config

pytestmark = pytest.mark.slow  # real processes: `-m 'not slow'` leaves them out


def _status(db, rid):
    db.connect(reuse_if_open=True)
    return get_run(db, rid).status


def test_two_workers_run_310_runs_exactly_once_and_one_at_a_time(db, workers, tmp_path):
    t = create_task("Mark", "test", {"seconds": 0, "mark": True})
    conn = db.connection()
    ids = [queue.enqueue(conn, t.id, direct=False, trigger="manual", now=float(i)) for i in range(150)]
    a, b = workers("a"), workers("b")
    a.wait_started()
    b.wait_started()
    # The rest arrives in bursts, as late entries do: each burst goes to whichever worker looks first.
    for burst in range(15):
        ids += [queue.enqueue(conn, t.id, direct=False, trigger="manual", now=150.0 + burst * 10 + i) for i in range(10)]
        time.sleep(0.3)
    def drained() -> None:
        wait_for(lambda: Run.select().where(Run.status.in_(("queued", "running"))).count() == 0, 120, "queue drained")

    drained()
    # Which worker wins each burst is timing: on a loaded machine one may win them all (it is
    # still draining when the next burst comes). So the lane is handed over for certain: the
    # worker that ran the last run stops, and the last burst must go to the other process.
    last = Run.select().order_by(Run.finished_at.desc()).first().worker
    busy, idle = (a, b) if last.split(":")[1] == str(a.proc.pid) else (b, a)  # worker id: host:pid:random
    assert busy.stop() == 0
    ids += [queue.enqueue(conn, t.id, direct=False, trigger="manual", now=300.0 + i) for i in range(10)]
    drained()
    assert idle.stop() == 0
    runs = list(Run.select().order_by(Run.started_at))
    assert len(runs) == 310 and {r.status for r in runs} == {"succeeded"}
    assert {r.attempts for r in runs} == {1}
    # Each run's effect happened exactly once.
    marks = [m.run_id for m in TestMark.select()]
    assert sorted(marks) == ids
    # Never two queue-lane runs at once: the recorded intervals do not overlap.
    for prev, nxt in zip(runs, runs[1:], strict=False):
        assert prev.finished_at <= nxt.started_at, (prev.id, nxt.id)
    # Both processes took part: the lane hands over between processes.
    assert len({r.worker for r in runs}) == 2
    assert "runtime stopped" in a.output and "runtime stopped" in b.output


@pytest.mark.parametrize(("on_orphan", "expected"), [(None, "requeued"), ("fail", "failed")])
def test_a_worker_killed_with_sigkill_leaves_no_run_running(db, workers, tmp_path, on_orphan, expected):
    write_config(tmp_path, "[engine]\nlease = 3\n")
    create_task("Work", "test", {"seconds": 4}, on_orphan=on_orphan)
    rid = queue.enqueue(db.connection(), 1, direct=False, trigger="manual", now=0)
    first = workers("first")
    wait_for(lambda: _status(db, rid) == "running", 20, "run started")
    first.kill()
    assert _status(db, rid) == "running"  # nobody knows yet
    second = workers("second")
    wait_for(lambda: _status(db, rid) in ("succeeded", "failed"), 120, "run ended")
    r = get_run(db, rid)
    log = [line.message for line in run_log(db, rid)]
    if expected == "requeued":
        assert r.status == "succeeded" and r.attempts == 2
        assert any("worker lost" in m and "requeued" in m for m in log)
        assert f"run {rid} (Work): worker" in second.output and "lost, run requeued" in second.output
    else:
        assert (r.status, r.error) == ("failed", "worker lost")
    assert second.stop() == 0
    assert Run.select().where(Run.status == "running").count() == 0


def test_sigterm_lets_the_running_run_finish_within_the_grace_and_exits_0(db, workers, tmp_path):
    write_config(tmp_path, "[engine]\ngrace = 20\n")
    create_task("Short", "test", {"seconds": 2})
    rid = queue.enqueue(db.connection(), 1, direct=False, trigger="manual", now=0)
    w = workers()
    wait_for(lambda: _status(db, rid) == "running", 20, "run started")
    assert w.stop() == 0
    assert _status(db, rid) == "succeeded"
    assert "SIGTERM received" in w.output


def test_sigterm_past_the_grace_requeues_the_run(db, workers, tmp_path):
    write_config(tmp_path, "[engine]\ngrace = 0.5\n")
    create_task("Long", "test", {"seconds": 60})
    rid = queue.enqueue(db.connection(), 1, direct=False, trigger="manual", now=0)
    w = workers()
    wait_for(lambda: _status(db, rid) == "running", 20, "run started")
    assert w.stop(timeout=15) == 0
    assert _status(db, rid) == "queued"


def test_cancel_from_the_cli_reaches_a_running_run_in_a_worker(db, workers, cli):
    create_task("Long", "test", {"seconds": 60})
    running = queue.enqueue(db.connection(), 1, direct=False, trigger="manual", now=0)
    waiting = queue.enqueue(db.connection(), 1, direct=False, trigger="manual", now=1)
    w = workers()
    wait_for(lambda: _status(db, running) == "running", 20, "run started")
    res = cli("cancel", str(waiting))
    assert res.returncode == 0 and f"run {waiting} cancelled" in res.stdout
    res = cli("cancel", str(running))
    assert res.returncode == 0 and "cancel requested" in res.stdout
    wait_for(lambda: _status(db, running) == "cancelled", 10, "run cancelled")
    assert get_run(db, waiting).started_at is None
    assert cli("cancel", str(running)).returncode == 1
    assert w.stop() == 0


def test_run_wait_uses_the_running_worker(db, workers, cli):
    create_task("Quick", "test", {"seconds": 0.2})
    create_task("Broken", "test", {"seconds": 0, "fail": True})
    w = workers()
    w.wait_started()
    ok = cli("run", "Quick", "--wait")
    assert ok.returncode == 0 and "succeeded" in ok.stdout and "no worker" not in ok.stderr
    bad = cli("run", "Broken", "--wait")
    assert bad.returncode == 1 and "failed: Test failure requested" in bad.stdout
    runs = json.loads(cli("runs", "--json").stdout)
    assert {r["worker"] for r in runs} == {runs[0]["worker"]} and runs[0]["worker"].count(":") == 2
    assert w.stop() == 0


def test_the_headless_worker_never_imports_textual(db_path, tmp_path):
    code = (
        "import sys\n"
        "from t4o_tui.cli import main\n"
        f"rc = main(['--db', {str(db_path)!r}, '--worker'])\n"
        "print('RC', rc, 'TEXTUAL', any(m == 'textual' or m.startswith('textual.') for m in sys.modules))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=child_env(tmp_path))
    try:
        # The readiness signal, not a fixed delay: SIGTERM once the runtime says it started.
        err = _read_until(proc.stderr, "runtime started")
        proc.send_signal(signal.SIGTERM)
        out, rest = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert "RC 0 TEXTUAL False" in out, out + err + rest


def _read_until(stream, marker: str) -> str:
    """Lines of a child's stream up to the one containing `marker` (the child's readiness signal)."""
    lines: list[str] = []
    while not lines or marker not in lines[-1]:
        line = stream.readline()
        assert line, "stream ended before " + repr(marker) + ":\n" + "".join(lines)
        lines.append(line)
    return "".join(lines)


def test_a_stop_signal_during_start_up_is_a_clean_stop(db_path, tmp_path):
    """SIGTERM while the worker is still starting (here: building the demo) ends it with exit 0."""
    proc = subprocess.Popen([sys.executable, "-m", "t4o_tui", "--db", str(db_path), "--demo", "--worker", "--share-port", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=child_env(tmp_path))
    try:
        err = _read_until(proc.stderr, "preparing the demo race")
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=120)[1]
    finally:
        proc.kill()
    assert proc.returncode == 0, err + rest
    assert "SIGTERM received during start-up: stopping" in rest
    assert "worker on" not in rest and "Traceback" not in rest  # the worker itself never started


def test_sigterm_is_logged_one_line_per_event(db, workers):
    w = workers()
    w.wait_started()
    w.signal(signal.SIGINT)
    assert w.proc.wait(20) == 0
    lines = w.output.strip().splitlines()
    assert all("Traceback" not in line for line in lines)
    assert any("SIGINT received: stopping" in line for line in lines)


def test_demo_worker_builds_the_demo_and_prints_its_share_link(db_path, tmp_path):
    import urllib.request

    from conftest import child_env

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "t4o_tui", "--db", str(db_path), "--demo", "--worker", "--share-port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=child_env(tmp_path))
    try:
        lines: list[str] = []
        assert proc.stdout is not None
        while not any("share server listening" in line for line in lines):
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        url = next(line.split("demo share link: ")[1].split()[0] for line in lines if "demo share link: " in line)
        local = url.replace(":8470/", f":{port}/")
        with urllib.request.urlopen(local, timeout=5) as resp:
            page = resp.read()
        assert resp.status == 200 and b"Start list" in page  # prepared before the worker started
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    res = subprocess.run([sys.executable, "-m", "t4o_tui", "--db", str(db_path), "tasks", "--json"], capture_output=True,
                         text=True, env=child_env(tmp_path))
    names = {t["name"] for t in json.loads(res.stdout)}
    assert {"Import entries", "Draw starts", "Test timing", "Process station data", "Result list", "Backup"} <= names
