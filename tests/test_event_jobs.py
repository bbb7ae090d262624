"""The event-preparation jobs on a real database with the official IOF examples and bad files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from t4o_tui.engine.runs import run_log
from t4o_tui.orienteering import iof
from t4o_tui.store.models import (
    Card,
    Class,
    Control,
    Course,
    CourseControl,
    Entry,
    Event,
    Person,
    Race,
    Start,
)

from conftest import SHARED, iof_examples, run_job

EVENT_TABLES = ["event", "race", "class", "course", "control", "course_control", "organisation", "person",
                "person_identifier", "card", "entry", "entry_card", "start"]


def event_digest(db) -> str:
    h = hashlib.sha256()
    for table in EVENT_TABLES:
        cols = "*" if table not in ("entry",) else "id, race_id, class_id, person_id, organisation_id, identifier, identifier_type, status, bib, hand_edited"
        for row in db.execute_sql(f"SELECT {cols} FROM {table} ORDER BY 1, 2"):
            h.update(repr(row).encode())
    return h.hexdigest()


def log_text(db, run) -> str:
    return "\n".join(line.message for line in run_log(db, run.id))


@pytest.mark.parametrize(("job", "example"), [
    ("import-classes", "ClassList.xml"),
    ("import-classes", "ClassList_Individual_Step1.xml"),
    ("import-courses", "CourseData_Individual_Step2.xml"),
    ("import-entries", "EntryList1.xml"),
    ("import-entries", "EntryList2.xml"),
])
def test_official_examples_import_and_a_second_import_changes_nothing(db, db_path, job, example):
    path = iof_examples() / example
    first = run_job(db, db_path, job, {"file": str(path)})
    assert first.status == "succeeded", first.error
    before = event_digest(db)
    second = run_job(db, db_path, job, {"file": str(path)})
    assert second.status == "succeeded", second.error
    assert event_digest(db) == before


def test_the_individual_workflow_of_the_standard_steps_1_to_4(db, db_path):
    folder = iof_examples()
    assert run_job(db, db_path, "import-classes", {"file": str(folder / "ClassList_Individual_Step1.xml")}).status == "succeeded"
    assert run_job(db, db_path, "import-courses", {"file": str(folder / "CourseData_Individual_Step2.xml")}).status == "succeeded"
    run = run_job(db, db_path, "create-starts", {"source": "iof-xml", "file": str(folder / "StartList_Individual_Step3.xml")})
    assert run.status == "succeeded", run.error
    assert Start.select().count() >= 2
    run = run_job(db, db_path, "import-courses", {"file": str(folder / "CourseData_Individual_Step4.xml")}, name="step4")
    assert run.status == "succeeded", run.error
    assert Course.select().count() >= 1 and CourseControl.select().count() > 0
    forked = {s.bib: s.course.name for s in Start.select() if s.course_id}
    assert forked.get("101") == "A" and forked.get("102") == "B", log_text(db, run)
    assert {c.code for c in Control.select().where(Control.kind == "start")}, "start controls recognised"


def test_course_import_keeps_existing_controls_and_courses_missing_from_the_file(db, db_path):
    path = iof_examples() / "CourseData_Individual_Step2.xml"
    run_job(db, db_path, "import-courses", {"file": str(path)})
    race = Race.get()
    Control.update(description="moved by the course setter").where(Control.code == "31").execute()
    Course.create(race=race, name="Extra")
    run = run_job(db, db_path, "import-courses", {"file": str(path)})
    assert run.status == "succeeded"
    assert Control.get(Control.code == "31").description == "moved by the course setter"
    assert Course.get_or_none(Course.name == "Extra") is not None
    assert "courses not in the file, kept: Extra" in log_text(db, run)


def test_entries_round_trip_through_draw_and_start_list(db, db_path, tmp_path):
    folder = iof_examples()
    run_job(db, db_path, "import-entries", {"file": str(folder / "EntryList1.xml")})
    race = Race.get()
    for cls in Class.select():
        cls.first_start = 1_780_000_000.0
        cls.start_interval = 120
        cls.bib_start = 100 + cls.id * 100
        cls.vacancies = 1
        cls.save()
    assert run_job(db, db_path, "create-starts", {}).status == "succeeded"
    draw = run_job(db, db_path, "assign-starts", {"seed": "42"})
    assert draw.status == "succeeded", draw.error
    assert "draw done with seed '42'" in log_text(db, draw)
    entries = Entry.select().where(Entry.status == "entered").count()
    assert Start.select().where(Start.entry.is_null(False)).count() == entries
    out = run_job(db, db_path, "start-list", {"format": "iof-xml", "include_vacant": True})
    assert out.status == "succeeded", out.error
    xml = Path(out.output).read_bytes()
    xsd = SHARED / "iof" / "IOF.xsd"
    bare = run_job(db, db_path, "start-list", {"format": "iof-xml", "include_vacant": False}, name="no vacant")
    without = iof.read_start_list(Path(bare.output).read_bytes())
    assert iof.validate(Path(bare.output).read_bytes(), xsd) == []
    assert all(s.person is not None for _, s in without.all_starts())
    assert sum(1 for _ in without.all_starts()) == Start.select().where(Start.entry.is_null(False)).count()
    assert iof.validate(xml, xsd) == []
    doc = iof.read_start_list(xml)
    got = sorted((s.bib, s.start_time.timestamp() if s.start_time else None, s.person.name if s.person else None)
                 for _, s in doc.all_starts())
    want = sorted((s.bib, s.start_time, f"{s.entry.person.given} {s.entry.person.family}".strip() if s.entry else None)
                  for s in Start.select())
    assert len(got) == Start.select().count() >= 3 + Class.select().count()  # entries + one vacancy per class
    assert got == want
    assert race.id == Start.get().race_id
    html = run_job(db, db_path, "start-list", {"format": "html"}, name="html list")
    assert html.status == "succeeded" and b"<table>" in Path(html.output).read_bytes()
    csv = run_job(db, db_path, "start-list", {"format": "csv"}, name="csv list")
    assert Path(csv.output).read_bytes().startswith(b"\xef\xbb\xbfClass;Bib;Start;Name;Club;Card;Course")


def test_the_draw_is_reproducible_with_a_seed_and_redraw_keeps_hand_set_starts(db, db_path, tmp_path):
    f = tmp_path / "many.csv"
    f.write_text("ENTRY IDENTIFIER;PERSON NAME;CLASS NAME;ORGANISATION NAME\n" + "".join(
        f"{i};Runner {i};{'H21' if i % 2 else 'D21'};Club {i % 5}\n" for i in range(40)), encoding="utf-8")
    run_job(db, db_path, "import-entries", {"file": str(f)})
    for cls in Class.select():
        cls.first_start, cls.start_interval, cls.bib_start = 1_780_000_000.0, 60, 1
        cls.save()
    run_job(db, db_path, "create-starts", {})
    run_job(db, db_path, "assign-starts", {"seed": "7"})
    first = {s.id: s.entry_id for s in Start.select()}
    run_job(db, db_path, "assign-starts", {"seed": "7", "redraw": True})
    assert {s.id: s.entry_id for s in Start.select()} == first  # same seed, same draw
    run_job(db, db_path, "assign-starts", {"seed": "8", "redraw": True})
    assert {s.id: s.entry_id for s in Start.select()} != first
    hand = Start.select().where(Start.entry.is_null(False)).first()
    kept = hand.entry_id
    hand.hand_set = True
    hand.save()
    for seed in ("9", "10", "11"):
        run_job(db, db_path, "assign-starts", {"seed": seed, "redraw": True})
        assert Start.get_by_id(hand.id).entry_id == kept
    linked = [s.entry_id for s in Start.select() if s.entry_id]
    assert len(linked) == len(set(linked)) == Entry.select().count()


def test_cards_import_and_assignment(db, db_path, tmp_path):
    run_job(db, db_path, "import-entries", {"file": str(iof_examples() / "EntryList1.xml")})
    run_job(db, db_path, "import-cards", {"range_from": 900001, "range_to": 900300, "rental": True})
    assert Card.select().where(Card.rental == True).count() == 300  # noqa: E712
    without = db.execute_sql("SELECT count(*) FROM entry WHERE id NOT IN (SELECT entry_id FROM entry_card)").fetchone()[0]
    assert without >= 1
    run = run_job(db, db_path, "assign-cards", {})
    assert run.status == "succeeded", run.error
    assert f"{without} rental SI cards assigned" in log_text(db, run)
    wrong = run_job(db, db_path, "import-cards", {"range_from": 500, "range_to": 400}, name="backwards")
    assert wrong.status == "failed" and "runs backwards" in wrong.error


def test_csv_entries_columns_blank_clears_and_hand_edited_kept(db, db_path, tmp_path):
    f = tmp_path / "late.csv"
    f.write_text("ENTRY IDENTIFIER;PERSON FIRST NAME;PERSON LAST NAME;CLASS NAME;ORGANISATION NAME;CARD NO;PERSON BIRTHYEAR;Shoe size\n"
                 "L1;Kari;Nordmann;D21;Halden SK;1234567;1990;38\nL2;Ola;Hansen;H21;IL Tyrving;;1985;44\n", encoding="utf-8")
    run = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert run.status == "succeeded", run.error
    assert Entry.select().count() == 2 and Person.get(Person.given == "Kari").birth_year == 1990
    assert "Shoe size" in log_text(db, run)  # unknown column reported
    f.write_text("ENTRY IDENTIFIER;PERSON BIRTHYEAR\nL1;\n", encoding="utf-8")
    run_job(db, db_path, "import-entries", {"file": str(f)})
    assert Person.get(Person.given == "Kari").birth_year is None  # a blank cell clears
    Entry.update(hand_edited=True).where(Entry.identifier == "L2").execute()
    f.write_text("ENTRY IDENTIFIER;CLASS NAME\nL2;H50\n", encoding="utf-8")
    run = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert Entry.get(Entry.identifier == "L2").klass.name == "H21"
    assert "edited by hand, not overwritten" in log_text(db, run)


def test_an_oe_style_export_imports_and_reimports_without_duplicates(db, db_path, tmp_path):
    # The layout OE (SportSoftware) and programs copying it export: its own titles, two-digit years,
    # a hundred other columns, vacant slots without a name.
    f = tmp_path / "oe.csv"
    f.write_bytes(
        ("Stno;SI card;Database Id;Surname;First name;YB;S;Block;nc;Start;Finish;Time;Classifier;Club no.;Cl.name;"
         "City;Nat;Cl. no.;Short;Long;Course\n"
         "101;2071234;5501;Ærø;Bjørn;87;M;;0;10:00:00;;;;12;Åsane;Bergen;NOR;1;H21;Herrer 21;A\n"
         "102;2079999;5502;Hansen;Kari;04;F;;0;10:02:00;;;;13;Tyrving;Bærum;NOR;2;D21;Damer 21;B\n"
         "103;;;;;;;;0;10:04:00;;;;;;;;1;H21;Herrer 21;A\n").encode("cp1252"))
    run = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert run.status == "succeeded", run.error
    log = log_text(db, run)
    assert "1 rows without a name or an identifier skipped (lines 4)" in log
    people = {p.family: p for p in Person.select()}
    assert set(people) == {"Ærø", "Hansen"}
    assert (people["Ærø"].given, people["Ærø"].birth_year, people["Ærø"].sex) == ("Bjørn", 1987, "M")
    assert people["Hansen"].birth_year == 2004
    kari = Entry.get(Entry.person == people["Hansen"])
    assert (kari.klass.name, kari.organisation.name, kari.bib) == ("D21", "Tyrving", "102")
    again = run_job(db, db_path, "import-entries", {"file": str(f)}, name="again")
    assert again.status == "succeeded" and Entry.select().count() == 2 and Person.select().count() == 2


def test_full_import_withdraws_missing_entries(db, db_path, tmp_path):
    f = tmp_path / "e.csv"
    f.write_text("ENTRY IDENTIFIER;PERSON NAME;CLASS NAME\n1;Ann A;D21\n2;Bo B;H21\n", encoding="utf-8")
    run_job(db, db_path, "import-entries", {"file": str(f)})
    f.write_text("ENTRY IDENTIFIER;PERSON NAME;CLASS NAME\n1;Ann A;D21\n", encoding="utf-8")
    run = run_job(db, db_path, "import-entries", {"file": str(f), "full_import": True})
    assert [e.status for e in Entry.select().order_by(Entry.identifier)] == ["entered", "withdrawn"]
    assert "withdrawn (not in the file): Bo B" in log_text(db, run)


BAD_FILES = {
    "malformed.xml": (b'<?xml version="1.0"?>\n<EntryList xmlns="http://www.orienteering.org/datastandard/3.0">\n<PersonEntry><Clas></PersonEntry>',
                      "line 3"),
    "wrong-root.xml": (b"<html><body>Entries</body></html>", "<html>"),
    "bomb.xml": (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
                 b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><EntryList>&lol3;</EntryList>', ""),
    "unknown-columns.csv": (b"Foo;Bar\n1;2\n", "no known column"),
    # Only a start time and a class: every row would be a nameless entry, added again at each import.
    "no-runner-column.csv": (b"Start time;CLASS NAME\n2025-06-14 10:00;H21\n2025-06-14 10:02;D21\n",
                             "no column names or identifies the runners"),
    # Several bad cells: the run's reason is one line, the first one and how many more.
    "bad-cells.csv": (b"ENTRY IDENTIFIER;PERSON NAME;PERSON BIRTHYEAR;BIB NO\n1;Ann A;abc;1\n2;Bo B;1990;-3\n3;Cy C;x;0\n",
                      "line 2, column PERSON BIRTHYEAR: 'abc' is not a year (and 3 more problems: see the log)"),
    "truncated.csv": (b'ENTRY IDENTIFIER;PERSON NAME;CLASS NAME\n1;"Ann A;D21\n2;Bo', "line"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_entry_files_fail_clearly_and_change_nothing(db, db_path, tmp_path, name):
    data, fragment = BAD_FILES[name]
    ok = tmp_path / "ok.csv"
    ok.write_text("ENTRY IDENTIFIER;PERSON NAME;CLASS NAME\n1;Ann A;D21\n", encoding="utf-8")
    run_job(db, db_path, "import-entries", {"file": str(ok)}, name="first")
    before = event_digest(db)
    bad = tmp_path / name
    bad.write_bytes(data)
    run = run_job(db, db_path, "import-entries", {"file": str(bad)})
    assert run.status == "failed"
    assert "\n" not in run.error and fragment in run.error, run.error
    assert "Traceback" not in run.error
    assert event_digest(db) == before
    if name == "bad-cells.csv":  # every problem is in the log, to mend them all in one go
        assert "line 4, column BIB NO: '0' is not a bib number" in log_text(db, run)


def test_another_iof_message_type_is_refused(db, db_path):
    run = run_job(db, db_path, "import-entries", {"file": str(iof_examples() / "StartList1.xml")})
    assert run.status == "failed" and "StartList" in run.error
    run = run_job(db, db_path, "import-courses", {"file": str(iof_examples() / "EntryList1.xml")}, name="c")
    assert run.status == "failed" and "EntryList" in run.error
    assert Event.select().count() == 0


def test_windows_1252_entries(db, db_path, tmp_path):
    f = tmp_path / "ansi.csv"
    f.write_bytes("ENTRY IDENTIFIER;PERSON NAME;CLASS NAME;ORGANISATION NAME\n1;Bjørn Ærø;H21;Åsane IL\n".encode("cp1252"))
    run = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert run.status == "succeeded", run.error
    assert Person.get().family == "Ærø"


def test_missing_file_is_a_clear_error(db, db_path, tmp_path):
    run = run_job(db, db_path, "import-classes", {"file": str(tmp_path / "nope.xml")})
    assert run.status == "failed" and run.error == f"file not found: {tmp_path / 'nope.xml'}"


@pytest.mark.parametrize("example", ["StartList1.xml", "StartList2.xml", "StartList3.xml", "StartList4.xml",
                                     "StartList_Individual_Step3.xml"])
def test_official_start_lists_import_and_a_second_import_changes_nothing(db, db_path, example):
    path = iof_examples() / example
    first = run_job(db, db_path, "create-starts", {"source": "iof-xml", "file": str(path)})
    assert first.status == "succeeded", first.error
    before = event_digest(db)
    assert Start.select().count() >= 1 or "skipped" in log_text(db, first)
    second = run_job(db, db_path, "create-starts", {"source": "iof-xml", "file": str(path)})
    assert second.status == "succeeded", second.error
    assert event_digest(db) == before


def test_entry_ids_keep_the_type_the_file_gives_them(db, db_path, tmp_path):
    f = tmp_path / "entries.xml"
    f.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<EntryList xmlns="http://www.orienteering.org/datastandard/3.0" iofVersion="3.0">'
        "<Event><Name>Cup</Name></Event>"
        '<PersonEntry><Id type="IOF">149101</Id><Person><Name><Family>Berg</Family><Given>Ida</Given></Name></Person>'
        "<Class><Name>W21</Name></Class></PersonEntry>"
        "<PersonEntry><Id>77</Id><Person><Name><Family>Lind</Family><Given>Per</Given></Name></Person>"
        "<Class><Name>M21</Name></Class></PersonEntry></EntryList>", encoding="utf-8")
    run = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert run.status == "succeeded", run.error
    assert {(e.identifier, e.identifier_type) for e in Entry.select()} == {("149101", "IOF"), ("77", "Eventor")}
    again = run_job(db, db_path, "import-entries", {"file": str(f), "full_import": True}, name="again")
    assert again.status == "succeeded" and {e.status for e in Entry.select()} == {"entered"} and Entry.select().count() == 2
