"""Entries from other programs' files: re-imports match by the next best identity and never duplicate (issue 16).

The files are generated here in the shapes entry systems write: EntryLists without entry ids, with
person ids of a type of their own, with the same name in several clubs; CSV tables without ids.
"""

from __future__ import annotations

import codecs
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from t4o_tui.engine.runs import run_log
from t4o_tui.orienteering.iof_write import write_entry_list
from t4o_tui.orienteering.model import Card, EntryRecord, EventInfo, Organisation, Person
from t4o_tui.store.db import open_database
from t4o_tui.store.models import Entry

from conftest import run_job

COUNTED = ("entry", "person", "person_identifier", "organisation", "class", "card", "entry_card")


def counts(db) -> dict[str, int]:
    return {t: db.execute_sql(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED}


def log_text(db, run) -> str:
    return "\n".join(line.message for line in run_log(db, run.id))


def entry_list(entries: list[EntryRecord]) -> bytes:
    return write_entry_list(EventInfo(name="Cup"), entries, creator="an entry system",
                            create_time=datetime(2026, 5, 1, tzinfo=UTC))


def runner(given_name: str, family: str, club: str | None, cls: str, *, card: str | None = None,
           entry_id: str | None = None, ids: dict[str, str] | None = None, year: int | None = None) -> EntryRecord:
    return EntryRecord(
        person=Person(given_name, family, birth_year=year, ids=ids or {}),
        organisation=Organisation(club) if club else None, class_names=(cls,),
        cards=(Card(card, "SI"),) if card else (), entry_id=entry_id,
    )


NO_IDS = [
    runner("Anna", "Berg", "OK Linné", "D21", card="2001001"),
    runner("Anna", "Berg", "IFK Göteborg", "D21", card="2001002"),  # the same name in another club
    runner("Per", "Lind", "OK Linné", "H21"),  # no card: found by name, club and class
    runner("Ida", "Ek", None, "D21"),  # no club
    runner("Ola", "Nord", "Halden SK", "H21", card="2001003"),
]


def test_an_entry_list_without_ids_imported_twice_changes_nothing(db, db_path, tmp_path):
    f = tmp_path / "entries.xml"
    f.write_bytes(entry_list(NO_IDS))
    first = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert first.status == "succeeded", first.error
    once = counts(db)
    assert once["entry"] == 5 and once["person"] == 5 and once["card"] == 3
    second = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert second.status == "succeeded", second.error
    assert counts(db) == once
    log = log_text(db, second)
    assert ("matched to existing entries: 0 by entry id, 0 by person id, 3 by card number and name, "
            "2 by name, club and class (in that order)") in log
    assert "entries: 0 created, 0 updated, 5 unchanged" in log
    # Each Anna Berg kept her own club and card.
    annas = {(e.organisation.name, db.execute_sql(
        "SELECT c.number FROM entry_card ec JOIN card c ON c.id = ec.card_id WHERE ec.entry_id=?", (e.id,)).fetchone()[0])
        for e in Entry.select().join_from(Entry, Entry.person.rel_model).where(Entry.person.rel_model.given == "Anna")}
    assert annas == {("OK Linné", "2001001"), ("IFK Göteborg", "2001002")}


def test_person_ids_of_a_foreign_type_find_the_entries_again(db, db_path, tmp_path):
    people = [runner("Eva", "Sund", "Malungs OK", "D21", ids={"SWE": "7001"}),
              runner("Eva", "Sund", "Malungs OK", "D21", ids={"SWE": "7002"}, card="2002002"),  # namesake, other person
              runner("Lars", "Ås", "Malungs OK", "H21", ids={"SWE": "7003"})]
    f = tmp_path / "swe.xml"
    f.write_bytes(entry_list(people))
    run = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert run.status == "succeeded", run.error
    once = counts(db)
    assert once["entry"] == 3 and once["person_identifier"] == 3
    assert {(t, v) for t, v in db.execute_sql("SELECT type, value FROM person_identifier")} == {
        ("SWE", "7001"), ("SWE", "7002"), ("SWE", "7003")}
    again = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert counts(db) == once
    assert "0 by entry id, 3 by person id, 0 by card number and name" in log_text(db, again)
    # The same people in a table without ids now: the person ids tell the two Eva Sund apart only
    # through their cards; the one without a card is ambiguous with her namesake.
    t = tmp_path / "late.csv"
    t.write_text("PERSON FIRST NAME;PERSON LAST NAME;CLASS NAME;ORGANISATION NAME;CARD NO\n"
                 "Eva;Sund;D21;Malungs OK;2002002\nEva;Sund;D21;Malungs OK;\nLars;Ås;H21;Malungs OK;\n", encoding="utf-8")
    late = run_job(db, db_path, "import-entries", {"file": str(t)}, name="late")
    assert late.status == "succeeded", late.error
    log = log_text(db, late)
    assert counts(db)["entry"] == 3
    assert "1 by card number and name, 1 by name, club and class" in log
    assert "line 3: Eva Sund (D21, Malungs OK) matches 2 entries by name, club and class: not imported" in log
    assert "1 entries matched several existing entries and were not imported (lines 3)" in log


def test_an_entry_id_or_person_id_that_differs_is_another_runner(db, db_path, tmp_path):
    f = tmp_path / "a.xml"
    f.write_bytes(entry_list([runner("Kim", "Lee", "OK Ravinen", "H21", entry_id="10")]))
    run_job(db, db_path, "import-entries", {"file": str(f)})
    f.write_bytes(entry_list([runner("Kim", "Lee", "OK Ravinen", "H21", entry_id="11")]))
    run = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert counts(db)["entry"] == 2, log_text(db, run)  # two entries of the entry system
    # An entry first imported without an id takes the id of the file that has it.
    f.write_bytes(entry_list([runner("Mia", "Holm", "OK Ravinen", "D21")]))
    run_job(db, db_path, "import-entries", {"file": str(f)})
    f.write_bytes(entry_list([runner("Mia", "Holm", "OK Ravinen", "D21", entry_id="12")]))
    run = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert counts(db)["entry"] == 3 and "1 by name, club and class" in log_text(db, run)
    assert Entry.get(Entry.identifier == "12").person.given == "Mia"


def test_a_csv_table_without_ids_imported_twice_and_in_another_order(db, db_path, tmp_path):
    head = "Surname;First name;YB;Cl.name;Short;SI card\n"
    rows = ["Berg;Anna;90;OK Linné;D21;2001001\n", "Berg;Anna;91;IFK Göteborg;D21;\n", "Lind;Per;85;OK Linné;H21;\n"]
    f = tmp_path / "oe.csv"
    f.write_text(head + "".join(rows), encoding="utf-8")
    assert run_job(db, db_path, "import-entries", {"file": str(f)}).status == "succeeded"
    once = counts(db)
    assert once["entry"] == 3
    f.write_text(head + "".join(reversed(rows)), encoding="utf-8")
    again = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert counts(db) == once, log_text(db, again)
    assert "entries: 0 created" in log_text(db, again)


def test_the_same_runner_twice_in_one_file_is_one_entry_and_said_so(db, db_path, tmp_path):
    f = tmp_path / "twice.csv"
    f.write_text("PERSON NAME;CLASS NAME;ORGANISATION NAME\nAnn Ek;D21;OK Väst\nAnn Ek;D21;OK Väst\n", encoding="utf-8")
    run = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert counts(db)["entry"] == 1
    assert "line 3: Ann Ek is the same entry as line 2 (by name, club and class)" in log_text(db, run)


def test_a_utf16_entry_list_with_a_bom_is_detected_as_xml(db, db_path, tmp_path):
    xml = entry_list(NO_IDS[:2]).decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        f = tmp_path / f"{codec}.xml"
        f.write_bytes(bom + xml.encode(codec))
        run = run_job(db, db_path, "import-entries", {"file": str(f), "format": "auto"}, name=codec)
        assert run.status == "succeeded", run.error
        assert "IOF XML EntryList with 2 entries" in log_text(db, run)
    assert counts(db)["entry"] == 2


# ---- any EntryList, imported twice in any order, leaves the counts of one import -----------------

NAMES = st.sampled_from([("Anna", "Berg"), ("Per", "Lind"), ("Eva", "Sund"), ("Ola", "Nord")])
CLUBS = st.sampled_from([None, "OK Linné", "IFK Göteborg", "Halden SK"])
CLASSES = st.sampled_from(["D21", "H21", "D16"])


@st.composite
def entry_lists(draw: st.DrawFn) -> list[EntryRecord]:
    """Entry lists as entry systems write them: entry ids on every entry or on none; person ids of one
    type on some persons (those in the system's database); card numbers on some; clubs on most;
    names, clubs and classes from small sets, so namesakes in the same and other clubs are common."""
    n = draw(st.integers(1, 8))
    with_entry_ids = draw(st.booleans())
    id_type = draw(st.sampled_from(["", "SWE", "IOF"]))
    out = []
    for i in range(n):
        (given_name, family), club, cls = draw(NAMES), draw(CLUBS), draw(CLASSES)
        ids = {id_type: f"p{i}"} if draw(st.booleans()) else {}
        card = f"{300000 + i}" if draw(st.booleans()) else None
        year = draw(st.one_of(st.none(), st.integers(1950, 2010)))
        out.append(runner(given_name, family, club, cls, card=card, entry_id=f"e{i}" if with_entry_ids else None,
                          ids=ids, year=year))
    return out


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=entry_lists(), order=st.randoms(use_true_random=False))
def test_any_entry_list_imported_twice_in_any_order_leaves_the_counts_of_one_import(entries, order):
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "event.sqlite"
        db = open_database(db_path)
        try:
            first, second = Path(tmp) / "a.xml", Path(tmp) / "b.xml"
            first.write_bytes(entry_list(entries))
            shuffled = list(entries)
            order.shuffle(shuffled)
            second.write_bytes(entry_list(shuffled))
            assert run_job(db, db_path, "import-entries", {"file": str(first)}).status == "succeeded"
            once = counts(db)
            run = run_job(db, db_path, "import-entries", {"file": str(second)})
            assert run.status == "succeeded", run.error
            assert counts(db) == once, log_text(db, run)
        finally:
            db.close()


def test_match_by_name_and_birth_year_is_tried_first_and_counted_as_such(db, db_path, tmp_path):
    f = tmp_path / "e.csv"
    f.write_text("PERSON NAME;PERSON BIRTHYEAR;CLASS NAME\nAnn Ek;1990;D21\nBo Ek;1985;H21\n", encoding="utf-8")
    run_job(db, db_path, "import-entries", {"file": str(f), "match_by": "name"})
    f.write_text("PERSON NAME;PERSON BIRTHYEAR;CLASS NAME\nAnn Ek;1990;D35\nBo Ek;1985;H21\n", encoding="utf-8")
    again = run_job(db, db_path, "import-entries", {"file": str(f), "match_by": "name"})
    log = log_text(db, again)
    assert counts(db)["entry"] == 2 and "2 by name and birth year" in log and "1 updated, 1 unchanged" in log
