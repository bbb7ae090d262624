"""The readout desk's unknown cards (engine.card_desk, jobs.card_desk) on a real database with real
processing: a card read out and on no entry is given to its runner (or to a new entry), the card's
readouts are processed at once, and the act is kept with who and when."""

from __future__ import annotations

import time

import pytest
from pg_fixtures import *  # noqa: F403  (each test on SQLite and on PostgreSQL)
from test_timing_jobs import build_race

from t4o_tui.engine import card_desk, corrections
from t4o_tui.engine.card_desk import CardDeskError, CardTaken
from t4o_tui.engine.readouts import recent_readouts, unknown_cards
from t4o_tui.jobs.card_desk import assign_and_process, create_and_process
from t4o_tui.store.models import Correction, Entry, EntryCard, Result, StationData

from conftest import run_job


def make_unknown(db, db_path, tmp_path, runners: int = 8) -> tuple[int, str, int]:
    """A race processed once, then one OK runner's card taken off their entry (as if never entered) and
    its readout from a station: processed again, the card is unknown. (entry, card, other entry)."""
    build_race(db, db_path, tmp_path, runners=runners)
    assert run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": 100,
                                                "missing_probability": 0}).status == "succeeded"
    assert run_job(db, db_path, "process-station-data", {}, name="process").status == "succeeded"
    carded = [r for r in Result.select().where(Result.status == "OK").order_by(Result.entry)
              if corrections.runner(db, r.entry_id).card]
    res, other = carded[0], carded[1].entry_id
    card = corrections.runner(db, res.entry_id).card
    assert card
    EntryCard.delete().where(EntryCard.entry == res.entry_id).execute()
    StationData.update(source="SI station 1 on /dev/ttyUSB0 (SI8)").where(StationData.card_number == card).execute()
    assert run_job(db, db_path, "process-station-data", {"all": True}, name="process").status == "succeeded"
    Result.delete().where(Result.entry == res.entry_id).execute()  # derived: the runner has no data now
    assert [u.card for u in unknown_cards(db)] == [card]
    return res.entry_id, card, other


def test_unknown_card_given_to_its_runner_is_processed_at_once(db, db_path, tmp_path):
    entry_id, card, _ = make_unknown(db, db_path, tmp_path)
    d = card_desk.desk(db, card)
    assert entry_id in {e.entry_id for e in d.entries} and d.classes
    me = next(e for e in d.entries if e.entry_id == entry_id)
    assert me.card == "" and me.matches(me.name.split()[-1].lower())

    given, warnings = assign_and_process(db, card, entry_id, move=False, who="kari", now=time.time())
    assert warnings == [] and given.readouts >= 1 and given.moved_from is None
    assert unknown_cards(db) == []
    assert Result.get(Result.entry == entry_id).status == "OK"
    row = next(r for r in recent_readouts(db) if r.card == card)
    assert row.entry_id == entry_id and row.status == "OK"
    c = Correction.get(Correction.entry == entry_id)
    assert (c.kind, c.control, c.who) == ("card", card, "kari") and f"card {card} given" in c.note
    # Kept with the runner's corrections, but no result correction, and not undone from there.
    r = corrections.runner(db, entry_id)
    assert r.card == card and not r.corrected and r.corrections[0].what(r.tz) == f"card {card} given"
    assert r.corrections[0].active and not r.corrections[0].undoable  # the dialog offers no undo (u) for it
    assert corrections.corrected_entries(db, r.race_id) == {}
    with pytest.raises(corrections.CorrectionError, match="Edit entry"):
        corrections.undo(db, c.id, "", who="kari", now=time.time())


def test_a_card_on_another_entry_is_refused_then_moved_when_asked(db, db_path, tmp_path):
    entry_id, card, other = make_unknown(db, db_path, tmp_path)
    # The card is given to the wrong runner first (a typo at the desk) …
    assign_and_process(db, card, other, move=True, who="kari", now=time.time())
    assert Result.get(Result.entry == other).station_data_id is not None
    # … so the same card, read again, is on another entry: refused, naming that entry, nothing changed.
    StationData.update(processed_at=None, entry=None, data_status="card not found").where(
        StationData.card_number == card).execute()
    before = (EntryCard.select().count(), Correction.select().count())
    with pytest.raises(CardTaken) as err:
        card_desk.assign_card(db, card, entry_id, who="ola", now=time.time())
    holder = Entry.get_by_id(other)
    assert err.value.holder.entry_id == other and holder.person.family in err.value.message
    assert (EntryCard.select().count(), Correction.select().count()) == before
    given, _ = assign_and_process(db, card, entry_id, move=True, who="ola", now=time.time())
    assert given.moved_from is not None and given.moved_from.entry_id == other
    assert Result.get(Result.entry == entry_id).status == "OK"
    assert card not in {corrections.runner(db, other).card}
    assert "moved from" in Correction.select().order_by(Correction.id.desc()).first().note


def test_new_entry_for_an_unknown_card(db, db_path, tmp_path):
    entry_id, card, _ = make_unknown(db, db_path, tmp_path)
    d = card_desk.desk(db, card)
    men = next(i for i, n in d.classes if n == "Men Open")
    with pytest.raises(CardDeskError) as err:
        create_and_process(db, card, given="Kari", family="  ", class_id=men, club="", who="kari", now=time.time())
    assert err.value.field == "family"
    with pytest.raises(CardDeskError) as err:
        create_and_process(db, card, given="Kari", family="Late", class_id=None, club="", who="kari", now=time.time())
    assert err.value.field == "class"
    entries = Entry.select().count()
    assert Entry.select().count() == entries
    made, _ = create_and_process(db, card, given="Kari", family="Late", class_id=men, club="Club 1", who="kari",
                                 now=time.time())
    assert Entry.select().count() == entries + 1 and made.name == "Kari Late"
    r = corrections.runner(db, made.entry_id)
    assert (r.card, r.class_name, r.club) == (card, "Men Open", "Club 1")
    assert unknown_cards(db) == []
    # Processed at once: the new runner has a result from the card (the course of their class).
    assert Result.get(Result.entry == made.entry_id).station_data_id is not None
    # A second new entry cannot take the same card.
    StationData.update(processed_at=None, entry=None, data_status="card not found").where(
        StationData.card_number == card).execute()
    with pytest.raises(CardDeskError, match="Kari Late"):
        card_desk.create_entry(db, card, given="A", family="B", class_id=men, who="kari", now=time.time())


def test_a_card_with_no_waiting_readout_is_refused(db, db_path, tmp_path):
    entry_id, _card, _ = make_unknown(db, db_path, tmp_path)
    with pytest.raises(CardDeskError, match="no readout"):
        card_desk.assign_card(db, "999", entry_id, who="kari", now=time.time())


def test_a_processing_failure_is_a_warning_and_the_card_stays_given(db, db_path, tmp_path, monkeypatch):
    entry_id, card, _ = make_unknown(db, db_path, tmp_path)
    from t4o_tui.jobs import card_desk as desk_job

    def broken(self, ctx):
        raise RuntimeError("disk I/O error\nsecond line")

    monkeypatch.setattr(desk_job.ProcessStationDataJob, "run", broken)
    given, warnings = assign_and_process(db, card, entry_id, move=False, who="kari", now=time.time())
    assert warnings == ["processing failed: disk I/O error (run Process Station Data once this is mended)"]
    assert corrections.runner(db, entry_id).card == card  # given, committed
    # Not processed yet: the readouts wait for the next run, which finds the runner by the card.
    assert StationData.select().where((StationData.card_number == card) & StationData.processed_at.is_null()).count()
    monkeypatch.undo()
    assert run_job(db, db_path, "process-station-data", {}, name="process").status == "succeeded"
    assert Result.get(Result.entry == entry_id).status == "OK"
