"""Share link URLs use the address of the process that serves them, and a process that cannot
listen says once which process does (real workers, the CLI as real processes, real HTTP)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from conftest import wait_for, write_config

pytestmark = pytest.mark.slow  # real processes: `-m 'not slow'` leaves them out


def _listening_port(output: str) -> int | None:
    m = re.search(r"share server listening on http://127\.0\.0\.1:(\d+)", output)
    return int(m.group(1)) if m else None


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_links_use_the_serving_process_port_and_a_second_process_names_it(cli, workers, tmp_path):
    write_config(tmp_path, "[share]\nport = 0\n")  # any free port: the configured one says nothing
    cli("task", "add", "Results", "--job", "test", "--set", "write_file=true", check=True)

    # Nobody serves yet: the link uses the configuration, and the admin is told.
    early = cli("share", "add", "Results", "--run-task", check=True)
    assert early.stdout.strip().startswith("http://127.0.0.1:0/s/")
    assert "no process serves share links now" in early.stderr

    first = workers("first")
    first.wait_started()
    port = _listening_port(first.output)
    assert port and port != 0
    worker_id = re.search(r"runtime started as (\S+)", first.output).group(1)  # type: ignore[union-attr]

    added = cli("share", "add", "Results", "--run-task", check=True)
    url = added.stdout.strip()
    assert url.startswith(f"http://127.0.0.1:{port}/s/"), url
    assert added.stderr == ""
    rows = json.loads(cli("shares", "--json", check=True).stdout)
    assert {r["url"].split("/s/")[0] for r in rows} == {f"http://127.0.0.1:{port}"}  # the early link too
    assert {r["served_by"] for r in rows} == {worker_id}
    table = cli("shares", check=True).stdout
    assert f"share links served by worker {worker_id} on 127.0.0.1:{port}" in table
    # The printed link works: the worker runs the task and answers with its file.
    wait_for(lambda: _get(url) == 200, timeout=60, what="the link answers 200")

    # A second process configured with the same port cannot listen: it says so once, naming the first.
    write_config(tmp_path, f"[share]\nport = {port}\n")
    second = workers("second")
    second.wait_started()
    lines = [line for line in second.output.splitlines() if "cannot listen" in line]
    assert len(lines) == 1, second.output
    assert f"in use by worker {worker_id}, which serves this database's links" in lines[0]
    assert "Traceback" not in second.output
    assert cli("share", "add", "Results", check=True).stdout.startswith(f"http://127.0.0.1:{port}/s/")
    assert f"served by worker {worker_id}" in cli("shares", check=True).stdout

    # The serving process stops: nobody serves, and the listing says so instead of naming it.
    assert first.stop() == 0
    table = cli("shares", check=True).stdout
    assert "no process serves share links now" in table and worker_id not in table
    assert {r["served_by"] for r in json.loads(cli("shares", "--json", check=True).stdout)} == {None}
    assert second.stop() == 0
    assert len([line for line in second.output.splitlines() if "cannot listen" in line]) == 1


def test_the_tui_names_the_process_that_serves_the_links(db, db_path, tmp_path, workers):
    """A TUI whose share server cannot listen (a worker has the port) says so once, naming the
    worker, and its Shares view shows the worker's address in the links."""
    import asyncio

    from test_tui import until
    from test_tui_snapshots import screen_text

    from t4o_tui.config import Config
    from t4o_tui.engine.runtime import RuntimeOptions
    from t4o_tui.engine.tasks import create_task
    from t4o_tui.share.links import create_share
    from t4o_tui.tui.app import T4oApp
    from t4o_tui.tui.screens.shares import SharesScreen

    write_config(tmp_path, "[share]\nport = 0\n")
    create_task("Results", "test", {"write_file": True})
    create_share(db, "Results", label="speaker")
    worker = workers("serving")
    worker.wait_started()
    port = _listening_port(worker.output)
    worker_id = re.search(r"runtime started as (\S+)", worker.output).group(1)  # type: ignore[union-attr]
    assert port

    cfg = Config(db=db_path, grace=0.5, share_port=port)
    options = RuntimeOptions(poll=0.2, grace=0.5, queue_lane=False, direct_lane=False, scheduler=False, share=True,
                             share_port=port)
    app = T4oApp(cfg, db, options=options, watch_terminal=False)
    notes: list[str] = []
    notify = app.notify

    def recording_notify(message: str, **kwargs: object) -> None:
        notes.append(str(message))
        notify(message, **kwargs)  # type: ignore[arg-type]

    app.notify = recording_notify  # type: ignore[method-assign]

    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.engine_started, what="engine start")
            await pilot.press("4")
            assert isinstance(app.screen, SharesScreen)
            served = f"shares served by worker {worker_id} on 127.0.0.1:{port} (this process could not listen)"
            await until(pilot, lambda: served in " ".join(screen_text(app).split()), what="the serving worker named")
            await until(pilot, lambda: f"http://127.0.0.1:{port}/s/" in screen_text(app), what="its port in the link")
            refused = [n for n in notes if "cannot listen" in n]
            assert len(refused) == 1 and f"in use by worker {worker_id}" in refused[0]

    asyncio.run(main())
    assert worker.stop() == 0
