"""SI station readout end to end without hardware: a simulated BSM station on a pseudo-terminal
(tests/si_simulator.py) speaking the extended protocol, the si-readout task running on the Direct lane
of a real runtime, results and split tickets checked. Plus the protocol module on its own."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from si_simulator import SimCard, StationSimulator, frame
from test_timing_jobs import build_race

from t4o_tui.config import data_dir_for
from t4o_tui.engine.readouts import recent_readouts, station_states, unknown_cards
from t4o_tui.engine.runs import cancel_run, enqueue_run, get_run, run_log
from t4o_tui.engine.runtime import Runtime, RuntimeOptions
from t4o_tui.engine.tasks import create_task
from t4o_tui.jobs.event_data import event_zone
from t4o_tui.jobs.timing_data import load_race
from t4o_tui.orienteering import si_protocol as si
from t4o_tui.orienteering import split_ticket
from t4o_tui.store.models import Card, Entry, EntryCard, Race, Result, StationData

from conftest import run_job, wait_for

# --- the protocol module ------------------------------------------------------------------------


def test_crc_of_the_programmers_guide_greeting_and_frames_round_trip():
    assert si.encode_frame(si.SET_MS, b"\x4d") == bytes.fromhex("02f0014d6d0a03")
    dec = si.FrameDecoder()
    data = b"\xff\xff" + frame(0xE7, b"\x00\x2a\x00\x01\x02\x03") + b"\x02\x99\x01\x00\x00\x00\x03" + frame(0xF0, b"\x00\x2a\x4d")
    # split anywhere: frames come out whole, the garbled one (bad CRC) is dropped with a reason
    got = dec.feed(data[:5]) + dec.feed(data[5:11]) + dec.feed(data[11:])
    assert [(f.cmd, f.station) for f in got] == [(0xE7, 42), (0xF0, 42)]
    assert dec.errors == ["frame 0x99: CRC error"]


def _card_with(kind: str, number: int, n: int, base: datetime) -> SimCard:
    from datetime import timedelta

    return SimCard(number, kind, [(31 + (k % 200), base + timedelta(seconds=60 * (k + 1))) for k in range(n)],
                   start=base, finish=base + timedelta(seconds=60 * (n + 1)), check=base - timedelta(minutes=2))


@pytest.mark.parametrize("kind,number,n", [("SI5", 212345, 36), ("SI5", 4321, 3), ("SI6", 654321, 100),
                                           ("SI8", 2123456, 30), ("SI9", 1234567, 50), ("SI10", 7123456, 128),
                                           ("SI11", 9123456, 70), ("SIAC", 8123456, 1)])
def test_card_memory_is_read_block_by_block_and_parsed(kind, number, n):
    base = datetime(2026, 6, 6, 13, 30, 0)  # a Saturday afternoon
    sim = _card_with(kind, number, n, base)
    cmd, data = sim.detection()
    detected = si.detected_card(si.Frame(cmd, b"\x00\x01" + data))
    read = si.CardRead(*detected)
    memory = sim.memory()
    requests = []
    while not read.done:
        req = read.pending
        requests.append(req.block)
        payload = memory[:128] if req.block is None else bytes((req.block,)) + memory[req.block * 128:(req.block + 1) * 128]
        assert read.accept(si.Frame(req.cmd, b"\x00\x01" + payload))
    card = read.card()
    assert card.number == number and card.card_type.value == kind
    timed = min(n, 30) if kind == "SI5" else n
    assert len(card.punches) == n and all(p.time is None for p in card.punches[timed:])
    assert card.punches[0].code == 31 and card.punches[timed - 1].time is not None
    if kind == "SI5":
        assert card.start == si.RawTime(1 * 3600 + 30 * 60)  # 13:30 kept as 1:30 on a 12-hour card
        assert requests == [None]
    else:
        assert card.start == si.RawTime(1 * 3600 + 30 * 60, True, 6)  # PM, Saturday
    if kind == "SI10":
        assert requests == [0, 4, 5, 6, 7]
    if kind == "SIAC":
        assert requests == [0, 4]  # only the blocks that hold punches
    if kind == "SI6":
        assert requests == [0, 6, 7, 2, 3]  # 100 punches: the 192-punch blocks as needed


def test_card_times_resolve_to_the_right_day_and_si5_stays_twelve_hour():
    from zoneinfo import ZoneInfo

    oslo = ZoneInfo("Europe/Oslo")
    read_at = datetime(2026, 6, 6, 14, 0, tzinfo=oslo).timestamp()  # Saturday 14:00
    sat_1330 = si.RawTime(5400, True, 6)
    assert si.resolve(sat_1330, read_at, oslo) == datetime(2026, 6, 6, 13, 30, tzinfo=oslo).timestamp()
    fri_2330 = si.RawTime(11 * 3600 + 1800, True, 5)
    assert si.resolve(fri_2330, read_at, oslo) == datetime(2026, 6, 5, 23, 30, tzinfo=oslo).timestamp()
    # Same weekday but later in the day than the readout (+1 h slack): a week earlier.
    assert si.resolve(si.RawTime(6 * 3600, True, 6), read_at, oslo) == datetime(2026, 5, 30, 18, 0, tzinfo=oslo).timestamp()
    card = si.SiCard(100, si.CardType.SI5, (si.SiPunch(31, si.RawTime(100)),), start=si.RawTime(50))
    data = si.card_data(card, read_at, oslo)
    assert data.time_base.value == "half_day" and data.punches[0].time == 100.0 and data.start.time == 50.0
    assert si.card_key(card) == si.card_key(card) and si.card_key(card) != si.card_key(
        si.SiCard(100, si.CardType.SI5, (si.SiPunch(31, si.RawTime(101)),), start=si.RawTime(50)))


def test_split_ticket_escpos_bytes():
    from zoneinfo import ZoneInfo

    t = split_ticket.Ticket("Nattløpet", "Bjørn Ødegård", "H21", "Østmarka OK", "212345", "MissingPunch", 1834.0, None, 7,
                            1000.0, 2834.0, 2900.0,
                            (split_ticket.TicketLine(1, "31", 300.0, 300.0), split_ticket.TicketLine(2, "32", None, None, True),
                             split_ticket.TicketLine(3, "33", 900.0, None)), finish_leg=934.0)
    data = split_ticket.escpos(t, ZoneInfo("UTC"), width=32)
    assert data.startswith(b"\x1b@\x1bt\x10")  # initialise, Windows-1252 table
    assert data.endswith(b"\x1bd\x04\x1dV\x01")  # feed, partial cut
    assert b"\x1bE\x01Bj\xf8rn \xd8deg\xe5rd\n\x1bE\x00" in data  # the name in bold, in cp1252
    assert b"\x1bE\x01  2 32" in data and b"MISSING\n" in data
    lines = data[5:-6].replace(b"\x1bE\x01", b"").replace(b"\x1bE\x00", b"").split(b"\n")
    assert max(len(x) for x in lines) <= 32
    assert b"30:34" in data  # 1834 s


# --- end to end on a pseudo-terminal ----------------------------------------------------------


@contextmanager
def runtime(db, db_path: Path) -> Iterator[None]:
    """A real runtime (Direct lane included) in a thread, as the worker runs it."""
    loop = asyncio.new_event_loop()
    rt = Runtime(db, data_dir=data_dir_for(db_path), options=RuntimeOptions(poll=0.02, scheduler=False, grace=2.0))
    started = threading.Event()

    def main() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(rt.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    assert started.wait(20)
    try:
        yield
    finally:
        asyncio.run_coroutine_threadsafe(rt.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        db.connect(reuse_if_open=True)


def give_card(entry: Entry, number: int) -> None:
    card = Card.create(number=str(number), card_type="SI")
    EntryCard.delete().where(EntryCard.entry == entry.id).execute()
    EntryCard.create(entry=entry.id, card=card.id)


def card_for(db, entry: Entry, kind: str, number: int, *, skip: int | None = None, finish: bool = True) -> SimCard:
    """A card as the runner punched it: each control of the course a minute apart from the drawn start."""
    rd = load_race(db.connection(), entry.race_id)
    info = rd.entries[entry.id]
    zone = event_zone(Race.get_by_id(entry.race_id))
    start = float(int(info.start_time))
    codes = [c.code for c in rd.courses[info.course_id] if c.kind.value == "control"]
    punches = [(int(code), datetime.fromtimestamp(start + 60 * (k + 1), zone))
               for k, code in enumerate(codes) if k != skip]
    fin = datetime.fromtimestamp(start + 60 * (len(codes) + 1) + 7, zone) if finish else None
    return SimCard(number, kind, punches, start=datetime.fromtimestamp(start, zone), finish=fin)


def log_text(db, run_id: int) -> str:
    return "\n".join(line.message for line in run_log(db, run_id))


@pytest.fixture
def race(db, db_path, tmp_path):
    build_race(db, db_path, tmp_path, runners=12, started_ago=2 * 3600)
    return db


def start_readout(db, tmp_path: Path, link: Path, **more: object) -> int:
    printer = tmp_path / "printer.bin"
    create_task("readout", "si-readout", {"port": str(link), "printer": str(printer), "width": 40, "max_wait": 0.5,
                                          **more}, direct=True)
    return enqueue_run(db, "readout")


def test_si5_si8_si9_si10_si11_readouts_are_stored_processed_and_ticketed(race, db, db_path, tmp_path):
    db = race
    link = tmp_path / "ttySI"
    sim = StationSimulator(link)
    entries = list(Entry.select().order_by(Entry.id))
    kinds = [("SI5", 212345), ("SI6", 654321), ("SI8", 2123456), ("SI9", 1234567), ("SI10", 7123456), ("SI11", 9123456),
             ("SIAC", 8123456)]
    cards = []
    for (kind, number), entry in zip(kinds, entries, strict=False):
        give_card(entry, number)
        cards.append((entry, card_for(db, entry, kind, number, skip=1 if kind == "SI9" else None)))
    try:
        with runtime(db, db_path):
            rid = start_readout(db, tmp_path, link)
            wait_for(lambda: any(s.state == "connected" for s in station_states(db)), 20, "the station connected")
            for n, (_entry, card) in enumerate(cards, start=1):
                sim.insert(card)
                sim.wait_acks(n)
            wait_for(lambda: Result.select().where(Result.entry.in_([e.id for e, _ in cards])).count() == len(cards), 20,
                     "results of every card")
            wait_for(lambda: len(list((data_dir_for(db_path) / "files").rglob("*ticket*.html"))) == len(cards), 20, "tickets")
            assert get_run(db, rid).status == "running"
            cancel_run(db, rid)
            wait_for(lambda: get_run(db, rid).status == "cancelled", 5, "the run stopped within seconds of the cancel")
    finally:
        sim.close()
    assert station_states(db)[0].state == "stopped"
    rows = {r.card: r for r in recent_readouts(db)}
    for entry, card in cards:
        res = Result.get(Result.entry == entry.id)
        sd = StationData.get(StationData.card_number == str(card.number))
        assert sd.card_type == card.kind and sd.entry_id == entry.id and sd.twelve_hour == (card.kind == "SI5")
        expected = card.finish.timestamp() - Entry.get_by_id(entry.id).start.get().start_time
        if card.kind == "SI9":
            assert res.status == "MissingPunch" and res.missing and rows[str(card.number)].missing == res.missing
        else:
            assert res.status == "OK", (card.kind, res.missing)
            assert abs(res.time - expected) < 1.0, card.kind
        assert rows[str(card.number)].status == res.status
    tickets = {p.name: p.read_text() for p in (data_dir_for(db_path) / "files").rglob("*ticket*.html")}
    assert len(tickets) == len(cards), sorted(tickets)
    mp = next(t for n, t in tickets.items() if "-1234567-" in n)
    assert 'class="missing"' in mp and "Missing punch" in mp
    printed = (tmp_path / "printer.bin").read_bytes()
    assert printed.count(b"\x1b@") == len(cards) and printed.count(b"\x1dV\x01") == len(cards)
    assert b"Place so far" in printed and b"MISSING" in printed
    assert "SI9, " in log_text(db, rid) and "MissingPunch" in log_text(db, rid)


def test_unplug_replug_partial_read_unknown_card_and_a_card_read_twice(race, db, db_path, tmp_path):
    db = race
    link = tmp_path / "ttySI"
    sim = StationSimulator(link)
    entry = Entry.select().order_by(Entry.id).first()
    give_card(entry, 7654321)
    card = card_for(db, entry, "SI10", 7654321)
    stranger = SimCard(2999999, "SI8", [(31, datetime.now())], start=datetime.now(), finish=datetime.now())
    try:
        with runtime(db, db_path):
            rid = start_readout(db, tmp_path, link)
            wait_for(lambda: any(s.state == "connected" for s in station_states(db)), 20, "connected")
            # Pulled out after the first block: nothing stored, the log says to read it again.
            sim.insert(card, pull_after=1)
            wait_for(lambda: "removed before it was read" in log_text(db, rid), 10, "the partial read noticed")
            assert StationData.select().count() == 0
            # Unplugged: the run goes on, waiting; plugged in again behind the same link, it reads on.
            sim.unplug()
            wait_for(lambda: station_states(db)[0].state in ("disconnected", "waiting"), 10, "the unplug noticed")
            wait_for(lambda: station_states(db)[0].state == "waiting", 10, "waiting for the station")
            assert get_run(db, rid).status == "running"
            sim.plug()
            wait_for(lambda: station_states(db)[0].state == "connected", 20, "connected again")
            sim.insert(card)
            sim.wait_acks(1)
            wait_for(lambda: Result.select().where(Result.entry == entry.id).count() == 1, 10, "the result")
            # The same card again: one readout, no new row, no new ticket.
            sim.insert(card)
            sim.wait_acks(2)
            wait_for(lambda: "read again" in log_text(db, rid), 10, "the second read noticed")
            # A card on no entry: listed as unknown.
            sim.insert(stranger)
            sim.wait_acks(3)
            wait_for(lambda: len(unknown_cards(db)) == 1, 10, "the unknown card listed")
            cancel_run(db, rid)
            wait_for(lambda: get_run(db, rid).status == "cancelled", 5, "stopped")
    finally:
        sim.close()
    assert StationData.select().where(StationData.card_number == "7654321").count() == 1
    assert Result.get(Result.entry == entry.id).status == "OK"
    assert unknown_cards(db)[0].card == "2999999"
    text = log_text(db, rid)
    assert "went away" in text or "cannot open" in text
    assert "card 2999999 (SI8, 1 punches): card not found: listed under unknown cards" in text
    tickets = list((data_dir_for(db_path) / "files").rglob("*ticket*.html"))
    assert len(tickets) == 2 and any("secretariat" in p.read_text() for p in tickets)
    states = json.loads(
        db.execute_sql("SELECT value FROM task_state WHERE key='station'").fetchone()[0])
    assert states["readouts"] == 2 and states["state"] == "stopped"


def test_a_readout_task_on_the_queue_lane_is_refused(race, db, db_path, tmp_path):
    db = race
    create_task("queued readout", "si-readout", {"port": str(tmp_path / "nothing")})
    rid = enqueue_run(db, "queued readout")
    with runtime(db, db_path):
        wait_for(lambda: get_run(db, rid).status == "failed", 20, "the run refused")
    assert "make it a Direct task" in get_run(db, rid).error


def test_split_tickets_for_file_readouts_once_each(race, db, db_path, tmp_path):
    db = race
    assert run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": 5, "seed": 7,
                                                "missing_probability": 0.5}, name="sim").status == "succeeded"
    assert run_job(db, db_path, "process-station-data", {}, name="proc").status == "succeeded"
    printer = tmp_path / "lp0"
    first = run_job(db, db_path, "split-tickets", {"printer": str(printer), "width": 32}, name="tickets")
    assert first.status == "succeeded", first.error
    page = Path(first.output).read_text()
    assert page.count("<section>") == 5 and printer.read_bytes().count(b"\x1dV\x01") == 5
    mp = Result.select().where(Result.status == "MissingPunch").count()
    assert page.count('class="missing"') >= mp
    # Nothing new: no tickets again. Two more readouts: two tickets.
    again = run_job(db, db_path, "split-tickets", None, name="tickets")
    assert "no readouts processed since" in log_text(db, again.id)
    assert run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": 2, "seed": 8}, name="sim").status == "succeeded"
    assert run_job(db, db_path, "process-station-data", {}, name="proc").status == "succeeded"
    third = run_job(db, db_path, "split-tickets", None, name="tickets")
    assert Path(third.output).read_text().count("<section>") == 2
    assert printer.read_bytes().count(b"\x1dV\x01") == 7


def test_a_readout_that_cannot_be_processed_is_kept_and_the_run_goes_on(race, db, db_path, tmp_path):
    db = race
    link = tmp_path / "ttySI"
    sim = StationSimulator(link)
    entry = Entry.select().order_by(Entry.id).first()
    give_card(entry, 212000)
    card = card_for(db, entry, "SI5", 212000)
    # No drawn start and no zero time: a 12-hour SI5 card cannot be placed in the day.
    db.execute_sql("UPDATE start SET entry_id=NULL WHERE entry_id=?", (entry.id,))
    db.execute_sql("UPDATE race SET zero_time=NULL, first_start=NULL")
    try:
        with runtime(db, db_path):
            rid = start_readout(db, tmp_path, link)
            wait_for(lambda: any(s.state == "connected" for s in station_states(db)), 20, "connected")
            sim.insert(card)
            sim.wait_acks(1)
            wait_for(lambda: "card 212000 (SI5" in log_text(db, rid), 10, "the readout said")
            assert get_run(db, rid).status == "running" and station_states(db)[0].state == "connected"
            cancel_run(db, rid)
            wait_for(lambda: get_run(db, rid).status == "cancelled", 5, "stopped")
    finally:
        sim.close()
    assert StationData.select().where(StationData.card_number == "212000").count() == 1
    # Processing went through: that runner's result has no time (and says why), nobody else is held up.
    assert "processing failed" not in log_text(db, rid)
    assert Result.get(Result.entry == entry.id).finish_time is None


def test_a_silent_port_is_waited_on_and_a_cancel_is_seen_within_a_second(race, db, db_path, tmp_path):
    """Something on the port that is not a station (it never answers the greeting)."""
    import os
    import tty

    db = race
    master, slave = os.openpty()
    tty.setraw(slave)
    link = tmp_path / "ttySilent"
    link.symlink_to(os.ttyname(slave))
    try:
        with runtime(db, db_path):
            rid = start_readout(db, tmp_path, link)
            wait_for(lambda: station_states(db) and "no SportIdent station answers" in station_states(db)[0].message,
                     20, "the silent port reported")
            assert station_states(db)[0].state == "waiting" and get_run(db, rid).status == "running"
            asked = time.monotonic()
            cancel_run(db, rid)
            wait_for(lambda: get_run(db, rid).status == "cancelled", 5, "stopped")
            assert time.monotonic() - asked < 1.5
    finally:
        os.close(master)
        os.close(slave)
