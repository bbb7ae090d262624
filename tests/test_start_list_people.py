"""Start lists that carry people: Create Starts from a StartList or a CSV with names enters the
runners it names and links each start; the start list written back names the same people (issue 16).

The files are generated here as entry systems and OE-style programs write them: persons, clubs,
cards and bibs, no entry ids.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from t4o_tui.engine.runs import run_log
from t4o_tui.orienteering import iof
from t4o_tui.orienteering.iof_write import write_entry_list, write_start_list
from t4o_tui.orienteering.model import (
    Card,
    ClassDef,
    ClassStart,
    EntryRecord,
    EventInfo,
    Organisation,
    Person,
    StartRecord,
)
from t4o_tui.store.models import Entry, Start

from conftest import SHARED, run_job

XSD = SHARED / "iof" / "IOF.xsd"
OSLO = ZoneInfo("Europe/Oslo")
FIRST = datetime(2026, 6, 6, 10, 0, tzinfo=OSLO)
COUNTED = ("entry", "person", "person_identifier", "organisation", "class", "card", "entry_card", "start")

# (class, bib, given, family, club, card or None); None given: a vacant start.
STARTS = [
    ("D21", "101", "Anna", "Berg", "OK Linné", "2001001"),
    ("D21", "102", "Anna", "Berg", "IFK Göteborg", "2001002"),  # namesake in another club
    ("D21", "103", None, None, None, None),  # vacant
    ("D21", "104", "Åse", "Ødegård", "Bækkelagets SK", None),  # rents a card later
    ("H21", "201", "Per", "Lind", "OK Linné", "2001003"),
    ("H21", "202", "Ola", "Nord", None, "2001004"),  # no club
]


def counts(db) -> dict[str, int]:
    return {t: db.execute_sql(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED}


def log_text(db, run) -> str:
    return "\n".join(line.message for line in run_log(db, run.id))


def start_list_file() -> bytes:
    classes: dict[str, list[StartRecord]] = {}
    for k, (cls, bib, given, family, club, card) in enumerate(STARTS):
        person = Person(given, family) if given else None
        classes.setdefault(cls, []).append(StartRecord(
            person=person, organisation=Organisation(club) if club and person else None, bib=bib,
            start_time=FIRST + timedelta(minutes=2 * k), card=Card(card, "SI") if card and person else None))
    return write_start_list(EventInfo(name="Sommerløpet"), [ClassStart(ClassDef(c), tuple(s)) for c, s in classes.items()],
                            creator="an entry system", create_time=datetime(2026, 6, 1, tzinfo=UTC))


def written_back(db, db_path) -> list[tuple]:
    out = run_job(db, db_path, "start-list", {"format": "iof-xml", "include_vacant": True}, name="write back")
    assert out.status == "succeeded", out.error
    xml = Path(out.output).read_bytes()
    assert iof.validate(xml, XSD) == []
    doc = iof.read_start_list(xml)
    return sorted((cs.class_def.name, s.bib, s.person.given if s.person else None, s.person.family if s.person else None,
                   s.organisation.name if s.organisation else None, s.card.number if s.card else None,
                   s.start_time.timestamp() if s.start_time else None) for cs, s in doc.all_starts())


def expected() -> list[tuple]:
    return sorted((cls, bib, given, family, club if given else None, card if given else None,
                   (FIRST + timedelta(minutes=2 * k)).timestamp()) for k, (cls, bib, given, family, club, card) in enumerate(STARTS))


def test_a_start_list_with_people_into_an_empty_event_names_everyone_when_written_back(db, db_path, tmp_path):
    f = tmp_path / "startlist.xml"
    f.write_bytes(start_list_file())
    run = run_job(db, db_path, "create-starts", {"source": "iof-xml", "file": str(f)})
    assert run.status == "succeeded", run.error
    log = log_text(db, run)
    assert "6 starts read from the file, 5 naming their runner" in log
    assert "starts from the file: 6 created, 0 already there (time and course updated), 5 linked to entries" in log
    assert "entries: 5 created" in log
    once = counts(db)
    assert (once["entry"], once["person"], once["organisation"], once["card"], once["start"]) == (5, 5, 3, 4, 6)
    assert {e.bib for e in Entry.select()} == {"101", "102", "104", "201", "202"}
    assert written_back(db, db_path) == expected()
    again = run_job(db, db_path, "create-starts", {"source": "iof-xml", "file": str(f)})
    assert again.status == "succeeded", again.error
    assert counts(db) == once
    assert "entries: 0 created, 0 updated, 5 unchanged" in log_text(db, again)
    assert written_back(db, db_path) == expected()


def test_a_start_list_with_people_into_an_event_with_entries_links_them(db, db_path, tmp_path):
    entries = [EntryRecord(Person(g, f), Organisation(c) if c else None, (cls,), (Card(card, "SI"),) if card else ())
               for cls, _, g, f, c, card in STARTS if g]
    e = tmp_path / "entries.xml"
    e.write_bytes(write_entry_list(EventInfo(name="Sommerløpet"), entries, creator="an entry system",
                                   create_time=datetime(2026, 5, 1, tzinfo=UTC)))
    assert run_job(db, db_path, "import-entries", {"file": str(e)}).status == "succeeded"
    before = counts(db)
    f = tmp_path / "startlist.xml"
    f.write_bytes(start_list_file())
    run = run_job(db, db_path, "create-starts", {"source": "iof-xml", "file": str(f)})
    assert run.status == "succeeded", run.error
    log = log_text(db, run)
    assert "4 by card number and name, 1 by name, club and class" in log
    after = counts(db)
    assert {k: after[k] - before[k] for k in COUNTED} == {**dict.fromkeys(COUNTED, 0), "start": 6}
    assert Start.select().where(Start.entry.is_null(False)).count() == 5
    assert written_back(db, db_path) == expected()


def test_a_runner_moved_to_another_bib_moves_with_the_file(db, db_path, tmp_path):
    f = tmp_path / "startlist.xml"
    f.write_bytes(start_list_file())
    run_job(db, db_path, "create-starts", {"source": "iof-xml", "file": str(f)})
    # The organiser swaps Per Lind and Ola Nord between 201 and 202.
    swapped = start_list_file().replace(b"<BibNumber>201<", b"<BibNumber>2xx<").replace(
        b"<BibNumber>202<", b"<BibNumber>201<").replace(b"<BibNumber>2xx<", b"<BibNumber>202<")
    f.write_bytes(swapped)
    run = run_job(db, db_path, "create-starts", {"source": "iof-xml", "file": str(f)})
    assert run.status == "succeeded", run.error
    by_bib = {s.bib: s.entry.person.family for s in Start.select() if s.entry_id}
    assert by_bib["201"] == "Nord" and by_bib["202"] == "Lind"
    assert Start.select().count() == 6 and Entry.select().count() == 5


def test_a_csv_start_list_with_names_enters_and_links_its_runners(db, db_path, tmp_path):
    f = tmp_path / "oe-starts.csv"
    f.write_bytes(("Stno;Surname;First name;YB;Cl.name;Short;SI card;START TIME\n"
                   "101;Berg;Anna;90;OK Linné;D21;2001001;2026-06-06 10:00:00\n"
                   "102;Berg;Anna;91;IFK Göteborg;D21;2001002;2026-06-06 10:02:00\n"
                   "103;;;;;D21;;2026-06-06 10:04:00\n"
                   "201;Lind;Per;85;OK Linné;H21;;2026-06-06 10:00:00\n").encode("cp1252"))
    run = run_job(db, db_path, "create-starts", {"source": "csv", "file": str(f)})
    assert run.status == "succeeded", run.error
    assert "4 starts read from the file, 3 naming their runner" in log_text(db, run)
    once = counts(db)
    assert (once["entry"], once["start"], once["card"]) == (3, 4, 2)
    linked = {s.bib: (s.entry.person.given, s.entry.organisation.name) for s in Start.select() if s.entry_id}
    assert linked == {"101": ("Anna", "OK Linné"), "102": ("Anna", "IFK Göteborg"), "201": ("Per", "OK Linné")}
    again = run_job(db, db_path, "create-starts", {"source": "csv", "file": str(f)})
    assert again.status == "succeeded" and counts(db) == once
    rows = written_back(db, db_path)
    assert [(r[1], r[2], r[4]) for r in rows] == [("101", "Anna", "OK Linné"), ("102", "Anna", "IFK Göteborg"),
                                                   ("103", None, None), ("201", "Per", "OK Linné")]
