"""Live results upload (MeOS Online Protocol) against a real HTTP service on 127.0.0.1 that keeps
what it was sent the way a MOP receiver does: complete documents replace, differences add and delete."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest
from lxml import etree
from test_timing_jobs import build_race

from t4o_tui.engine.runs import run_log
from t4o_tui.engine.tasks import TaskError, create_task, update_task
from t4o_tui.jobs import live_results
from t4o_tui.store.models import Entry, Result, Task, TaskState

from conftest import run_job

NS = "{http://www.melin.nu/mop}"
SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).with_name("mop.xsd"))))
PASSWORD = "s3cret-pw"


class _Service(http.server.BaseHTTPRequestHandler):
    """A MOP receiver: answers from a script (status, body) or OK; keeps the competition's records."""

    script: list[tuple[int, bytes]] = []
    received: list[tuple[dict[str, str], bytes]] = []
    held: dict[tuple[str, str], bytes] = {}
    invalid: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        code, answer = type(self).script.pop(0) if type(self).script else (200, b'<MOPStatus status="OK"/>')
        if code == 200 and b'"OK"' in answer:
            doc = etree.fromstring(body)
            if not SCHEMA.validate(doc):
                type(self).invalid.append(str(SCHEMA.error_log))
            if doc.tag == NS + "MOPComplete":
                type(self).held.clear()
            for el in doc:
                key = (etree.QName(el).localname, el.get("id", ""))
                if el.get("delete") == "true":
                    type(self).held.pop(key, None)
                else:
                    type(self).held[key] = etree.tostring(el)
        self.send_response(code)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def service():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Service)
    _Service.script, _Service.received, _Service.held, _Service.invalid = [], [], {}, []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/mop/update", _Service
    server.shutdown()
    server.server_close()


def settings(url: str, **more: object) -> dict:
    return {"url": url, "competition": 4711, "password": PASSWORD, "retries": 0, **more}


def roots(service) -> list[str]:
    return [etree.QName(etree.fromstring(body)).localname for _, body in service.received]


def records(body: bytes, tag: str) -> list[etree._Element]:
    return etree.fromstring(body).findall(NS + tag)


def log_text(db, run) -> str:
    return "\n".join(line.message for line in run_log(db, run.id))


def simulate(db, db_path, n: int, seed: int) -> None:
    """n more runners read out and processed: their results change."""
    assert run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": n, "seed": seed,
                                                "missing_probability": 0.3}, name="sim").status == "succeeded"
    assert run_job(db, db_path, "process-station-data", {}, name="proc").status == "succeeded"


def test_first_upload_is_complete_then_only_differences(db, db_path, tmp_path, service):
    url, svc = service
    build_race(db, db_path, tmp_path, runners=12)
    simulate(db, db_path, 4, seed=1)
    first = run_job(db, db_path, "live-results", settings(url), name="live")
    assert first.status == "succeeded", first.error
    assert roots(svc) == ["MOPComplete"] and not svc.invalid
    headers, body = svc.received[0]
    assert headers["competition"] == "4711" and headers["pwd"] == PASSWORD
    assert {int(c.get("id")) for c in records(body, "cmp")} == {e.id for e in Entry.select()}
    assert len(records(body, "competition")) == 1 and len(records(body, "cls")) == 2
    ok = Result.select().where(Result.status == "OK").first()
    sent = next(c for c in records(body, "cmp") if int(c.get("id")) == ok.entry_id)
    base = sent.find(NS + "base")
    assert base.get("stat") == "1" and base.get("rt") == str(round(ok.time * 10))
    assert sent.find(NS + "radio") is not None  # split times as radio times
    # Nothing changed: nothing is sent.
    again = run_job(db, db_path, "live-results", None, name="live")
    assert again.status == "succeeded" and len(svc.received) == 1
    assert "nothing changed" in log_text(db, again)
    # Three more runners read out: exactly their competitors go, as a difference.
    before = {r.entry_id: (r.status, r.time) for r in Result.select()}
    simulate(db, db_path, 3, seed=2)
    changed = {r.entry_id for r in Result.select() if before.get(r.entry_id) != (r.status, r.time)}
    assert len(changed) == 3
    diff = run_job(db, db_path, "live-results", None, name="live")
    assert diff.status == "succeeded", diff.error
    assert roots(svc) == ["MOPComplete", "MOPDiff"] and not svc.invalid
    body = svc.received[1][1]
    assert {int(c.get("id")) for c in records(body, "cmp")} == changed
    assert not records(body, "competition") and not records(body, "cls")
    # A withdrawn runner is deleted at the service.
    gone = Entry.select().where(Entry.id.not_in(list(changed))).first()
    Entry.update(status="withdrawn").where(Entry.id == gone.id).execute()
    assert run_job(db, db_path, "live-results", None, name="live").status == "succeeded"
    deleted = records(svc.received[2][1], "cmp")
    assert [(c.get("id"), c.get("delete")) for c in deleted] == [(str(gone.id), "true")]
    assert ("cmp", str(gone.id)) not in svc.held
    assert {int(i) for k, i in svc.held if k == "cmp"} == {e.id for e in Entry.select().where(Entry.status != "withdrawn")}


def test_down_service_then_recovery_loses_nothing_and_sends_nothing_twice(db, db_path, tmp_path, service):
    url, svc = service
    build_race(db, db_path, tmp_path, runners=10)
    assert run_job(db, db_path, "live-results", settings(url), name="live").status == "succeeded"
    simulate(db, db_path, 2, seed=3)
    # Connection refused: a port nobody listens on.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/mop"
    refused = run_job(db, db_path, "live-results", settings(dead), name="live")
    assert refused.status == "failed"
    assert "no answer" in refused.error and "2 changes not acknowledged are sent at the next run" in refused.error
    simulate(db, db_path, 2, seed=4)
    # The service answers 500, then says it failed: two runs fail, nothing is acknowledged.
    svc.script = [(500, b"oops"), (200, b'<MOPStatus status="ERROR"/>')]
    err500 = run_job(db, db_path, "live-results", settings(url), name="live")
    err = run_job(db, db_path, "live-results", None, name="live")
    assert err500.status == "failed" and "answered 500" in err500.error
    assert err.status == "failed" and "ERROR" in err.error
    assert "4 changes" in err.error
    # Recovery: one difference with all four runners, and the service holds exactly the race.
    ok = run_job(db, db_path, "live-results", None, name="live")
    assert ok.status == "succeeded", ok.error
    body = svc.received[-1][1]
    assert etree.QName(etree.fromstring(body)).localname == "MOPDiff" and len(records(body, "cmp")) == 4
    final = live_results.race_snapshot(db.connection(), Entry.get().race, None)
    assert {f"{k}:{i}" if i else k for k, i in svc.held} == set(final)
    for key, element in final.items():
        kind, _, ident = key.partition(":")
        held = etree.fromstring(svc.held[(kind, ident)])
        assert etree.tostring(held).replace(b' xmlns="http://www.melin.nu/mop"', b"") == element.encode()
    # Nothing twice: a further run sends nothing.
    assert run_job(db, db_path, "live-results", None, name="live").status == "succeeded"
    assert len(svc.received) == 4 and not svc.invalid  # complete, 500, ERROR, the recovery


def test_large_upload_goes_in_pieces_and_a_failed_piece_is_all_that_is_sent_again(db, db_path, tmp_path, service, monkeypatch):
    url, svc = service
    monkeypatch.setattr(live_results, "CHUNK", 5)
    build_race(db, db_path, tmp_path, runners=12)
    svc.script = [(200, b'<MOPStatus status="OK"/>')] * 2 + [(503, b"busy")]
    failed = run_job(db, db_path, "live-results", settings(url), name="live")
    assert failed.status == "failed" and "answered 503" in failed.error
    assert roots(svc) == ["MOPComplete", "MOPDiff", "MOPDiff"]
    def keys(bodies: list[bytes]) -> set[str]:
        return {f"{etree.QName(el).localname}:{el.get('id')}" if el.get("id") else "competition"
                for body in bodies for el in etree.fromstring(body)}

    sent_ok = keys([b for _, b in svc.received[:2]])
    ok = run_job(db, db_path, "live-results", None, name="live")
    assert ok.status == "succeeded", ok.error
    resent = keys([b for _, b in svc.received[3:]])
    # Only what was not acknowledged goes again, as differences; together: the whole race once.
    assert not sent_ok & resent and set(roots(svc)[3:]) == {"MOPDiff"}
    assert sent_ok | resent == set(live_results.race_snapshot(db.connection(), Entry.get().race, None))
    assert not svc.invalid


def test_resend_on_request_sends_the_complete_document_once(db, db_path, tmp_path, service):
    url, svc = service
    build_race(db, db_path, tmp_path, runners=4)
    assert run_job(db, db_path, "live-results", settings(url), name="live").status == "succeeded"
    update_task("live", settings={"resend": True})
    assert run_job(db, db_path, "live-results", None, name="live").status == "succeeded"
    assert roots(svc) == ["MOPComplete", "MOPComplete"]
    assert Task.get(Task.name == "live").settings["resend"] is False
    assert run_job(db, db_path, "live-results", None, name="live").status == "succeeded"
    assert len(svc.received) == 2


def test_refused_password_fails_at_once_and_the_password_is_never_written(db, db_path, tmp_path, service):
    url, svc = service
    build_race(db, db_path, tmp_path, runners=3)
    svc.script = [(200, b'<?xml version="1.0"?><MOPStatus status="BADPWD"></MOPStatus>')]
    run = run_job(db, db_path, "live-results", settings(url, retries=3), name="live")
    assert run.status == "failed" and "password was refused" in run.error
    assert len(svc.received) == 1  # not retried: a wrong password stays wrong
    assert PASSWORD not in run.error and PASSWORD not in log_text(db, run)
    assert TaskState.select().count() == 0


def test_a_transient_failure_is_retried_within_the_run(db, db_path, tmp_path, service):
    url, svc = service
    build_race(db, db_path, tmp_path, runners=3)
    svc.script = [(502, b"bad gateway")]
    run = run_job(db, db_path, "live-results", settings(url, retries=1, retry_wait=0.05), name="live")
    assert run.status == "succeeded", run.error
    assert roots(svc) == ["MOPComplete", "MOPComplete"] and "try 1 failed" in log_text(db, run)


def test_settings_are_checked_when_the_task_is_saved(db, tmp_path, monkeypatch):
    monkeypatch.setenv("T4O_TUI_CONFIG", str(tmp_path / "config.toml"))
    with pytest.raises(TaskError, match="setting 'url': 'ftp://x/' is not an http"):
        create_task("a", "live-results", {"url": "ftp://x/", "competition": 1, "password": "p"})
    with pytest.raises(TaskError, match="setting 'competition': must be at least 1"):
        create_task("b", "live-results", {"url": "http://x/", "competition": 0, "password": "p"})
    with pytest.raises(TaskError, match="setting 'password': is required"):
        create_task("c", "live-results", {"url": "http://x/", "competition": 5})
    (tmp_path / "config.toml").write_text('[live_results.passwords]\n"5" = "from-config"\n')
    create_task("d", "live-results", {"url": "http://x/", "competition": 5})
    with pytest.raises(TaskError, match="setting 'password'"):
        create_task("e", "live-results", {"url": "http://x/", "competition": 6})
    # A password in the address's user part never shows in the reason.
    with pytest.raises(TaskError) as exc:
        create_task("f", "live-results", {"url": "gopher://user:hunter2@x/", "competition": 5})
    assert "hunter2" not in str(exc.value)


def test_password_from_the_config_file_is_sent_in_the_header(db, db_path, tmp_path, service, monkeypatch):
    url, svc = service
    monkeypatch.setenv("T4O_TUI_CONFIG", str(tmp_path / "config.toml"))
    (tmp_path / "config.toml").write_text('[live_results]\npassword = "cfg-pw-123"\n')
    build_race(db, db_path, tmp_path, runners=2)
    run = run_job(db, db_path, "live-results", {"url": url, "competition": 9}, name="live")
    assert run.status == "succeeded", run.error
    assert svc.received[0][0]["pwd"] == "cfg-pw-123" and svc.received[0][0]["competition"] == "9"
    assert "cfg-pw-123" not in log_text(db, run)


def test_the_password_is_never_printed_by_task_listings(cli):
    res = cli("task", "add", "live", "--job", "live-results", "--set", "url=http://127.0.0.1:9/mop",
              "--set", "competition=5", "--set", "password=hunter2")
    assert res.returncode == 0, res.stderr
    shown = cli("task", "show", "live")
    listed = cli("tasks", "--json")
    as_json = cli("task", "show", "live", "--json")
    assert 'password = "********"' in shown.stdout
    for out in (shown, listed, as_json):
        assert out.returncode == 0 and "hunter2" not in out.stdout + out.stderr
