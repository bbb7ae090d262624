"""Import Entries with files as entry systems write them: defects found when the product was tried."""

from __future__ import annotations

from t4o_tui.engine.runs import run_log
from t4o_tui.store.models import Entry, Event, Person, Race

from conftest import run_job

NS = "http://www.orienteering.org/datastandard/3.0"


def log_text(db, run) -> str:
    return "\n".join(line.message for line in run_log(db, run.id))


def person_entry(entry_id: str, person_id: str, given: str, family: str, cls: str, *, card: str | None = None,
                 races: tuple[int, ...] = ()) -> str:
    return (f'<PersonEntry><Id type="Eventor">{entry_id}</Id>'
            f'<Person><Id type="Eventor">{person_id}</Id><Name><Family>{family}</Family><Given>{given}</Given></Name></Person>'
            + (f'<ControlCard punchingSystem="SI">{card}</ControlCard>' if card else "")
            + f"<Class><Name>{cls}</Name></Class>" + "".join(f"<RaceNumber>{n}</RaceNumber>" for n in races)
            + "</PersonEntry>\n")


def entry_list(*entries: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<EntryList xmlns="{NS}" iofVersion="3.0" creator="Eventor">\n'
            f"<Event><Name>Two Days</Name></Event>\n{''.join(entries)}</EntryList>\n")


def two_races() -> None:
    event = Event.create(name="Two Days", timezone="Europe/Oslo")
    Race.create(event=event, name="Day 1", race_number=1, date="2026-06-13")
    Race.create(event=event, name="Day 2", race_number=2, date="2026-06-14")


def names_in(race_number: int) -> list[str]:
    race = Race.get(Race.race_number == race_number)
    return sorted(f"{e.person.given} {e.person.family}" for e in Entry.select().where(Entry.race == race))


def test_a_runner_entered_for_day_two_only_is_no_entry_of_day_one(db, db_path, tmp_path):
    two_races()
    f = tmp_path / "entries.xml"
    f.write_text(entry_list(person_entry("1", "11", "Ann", "Both", "D21"),
                            person_entry("2", "12", "Per", "Second", "H21", races=(2,)),
                            person_entry("3", "13", "Ida", "Listed", "D21", races=(1, 2))), encoding="utf-8")
    day1 = run_job(db, db_path, "import-entries", {"file": str(f), "race": 1}, name="day 1")
    day2 = run_job(db, db_path, "import-entries", {"file": str(f), "race": 2}, name="day 2")
    assert day1.status == day2.status == "succeeded", (day1.error, day2.error)
    assert names_in(1) == ["Ann Both", "Ida Listed"]
    assert names_in(2) == ["Ann Both", "Ida Listed", "Per Second"]
    assert "1 entry for other races only (RaceNumber), not in race 1: left out" in log_text(db, day1)
    # A full import of day 1 does not withdraw anyone for being left out.
    again = run_job(db, db_path, "import-entries", {"file": str(f), "race": 1, "full_import": True}, name="day 1")
    assert "0 withdrawn" in log_text(db, again) and names_in(1) == ["Ann Both", "Ida Listed"]


def test_one_entry_id_for_two_runners_in_a_file_merges_nothing(db, db_path, tmp_path):
    """Two records with entry id 9001 but person ids 111 and 112: the second is refused by line,
    and nobody takes the other's ids or card."""
    f = tmp_path / "entries.xml"
    f.write_text(entry_list(person_entry("9001", "111", "Åse", "Ødegård", "D21", card="123456"),
                            person_entry("9001", "112", "Per", "Hansen", "H21", card="2045678")), encoding="utf-8")
    run = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert run.status == "succeeded", run.error
    (entry,) = Entry.select()
    assert (entry.person.given, entry.person.family, entry.klass.name) == ("Åse", "Ødegård", "D21")
    ids = db.execute_sql("SELECT type, value FROM person_identifier").fetchall()
    assert ids == [("Eventor", "111")]
    assert [c[0] for c in db.execute_sql("SELECT number FROM card JOIN entry_card ON card_id = card.id")] == ["123456"]
    assert "has the entry id of line 4 but another person's id: not imported, nothing changed" in log_text(db, run)


def test_an_entry_given_to_another_runner_keeps_its_id_and_takes_the_new_person(db, db_path, tmp_path):
    """A runner change in the entry system: entry 9001 now names person 112. The entry follows; the
    previous runner keeps their own name and id, and gets none of the new runner's."""
    f = tmp_path / "entries.xml"
    f.write_text(entry_list(person_entry("9001", "111", "Åse", "Ødegård", "D21")), encoding="utf-8")
    assert run_job(db, db_path, "import-entries", {"file": str(f)}).status == "succeeded"
    f.write_text(entry_list(person_entry("9001", "112", "Kari", "Nordmann", "D21")), encoding="utf-8")
    run = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert run.status == "succeeded", run.error
    (entry,) = Entry.select()
    assert (entry.identifier, entry.person.given, entry.person.family) == ("9001", "Kari", "Nordmann")
    old = Person.get(Person.given == "Åse")
    got = db.execute_sql("SELECT person_id, value FROM person_identifier ORDER BY value").fetchall()
    assert got == [(old.id, "111"), (entry.person.id, "112")]
    assert "Kari Nordmann: entry 9001 now has another runner (person id)" in log_text(db, run)


def test_namesakes_of_one_club_and_class_born_in_other_years_are_two_entries(db, db_path, tmp_path):
    f = tmp_path / "entries.csv"
    f.write_text("PERSON FIRST NAME;PERSON LAST NAME;PERSON BIRTHYEAR;CLASS NAME;ORGANISATION NAME\n"
                 "Per;Hansen;1990;H21;OK Ørn\nPer;Hansen;1962;H21;OK Ørn\n", encoding="utf-8")
    run = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert run.status == "succeeded", run.error
    assert sorted(e.person.birth_year for e in Entry.select()) == [1962, 1990]
    again = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert Entry.select().count() == 2 and "entries: 0 created, 0 updated, 2 unchanged" in log_text(db, again)


def test_a_full_import_of_a_file_without_entries_changes_nothing(db, db_path, tmp_path):
    """An empty EntryList is most often a failed download: it must not withdraw the race's entries."""
    f = tmp_path / "entries.xml"
    f.write_text(entry_list(person_entry("1", "11", "Ann", "Ek", "D21")), encoding="utf-8")
    assert run_job(db, db_path, "import-entries", {"file": str(f)}).status == "succeeded"
    f.write_text(entry_list(), encoding="utf-8")
    run = run_job(db, db_path, "import-entries", {"file": str(f), "full_import": True})
    assert run.status == "failed" and "a full import of it would withdraw every entry: nothing changed" in run.error
    assert [e.status for e in Entry.select()] == ["entered"]


def course_data(*courses: str) -> str:
    controls = "".join(f'<Control><Id>{c}</Id></Control>' for c in ("S1", "31", "32", "F1"))
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<CourseData xmlns="{NS}" iofVersion="3.0" creator="Purple Pen">\n'
            f"<Event><Name>Two Days</Name></Event>\n<RaceCourseData>{controls}\n{''.join(courses)}</RaceCourseData>\n"
            "</CourseData>\n")


def course(name: str, *codes: str) -> str:
    legs = "".join(f'<CourseControl type="Control"><Control>{c}</Control></CourseControl>' for c in codes)
    return (f'<Course><Name>{name}</Name><Length>2500</Length><CourseControl type="Start"><Control>S1</Control>'
            f'</CourseControl>{legs}<CourseControl type="Finish"><Control>F1</Control></CourseControl></Course>\n')


def test_one_course_name_for_two_courses_is_refused_by_line_and_a_repeated_course_is_one(db, db_path, tmp_path):
    f = tmp_path / "courses.xml"
    f.write_text(course_data(course("Course 1", "31", "32"), course("Course 1", "32", "31")), encoding="utf-8")
    run = run_job(db, db_path, "import-courses", {"file": str(f)})
    assert run.status == "failed"
    assert "line 6: course 'Course 1' is defined twice, differently (first on line 5)" in run.error
    assert db.execute_sql("SELECT count(*) FROM course").fetchone()[0] == 0
    f.write_text(course_data(course("Course 1", "31", "32"), course("Course 1", "31", "32")), encoding="utf-8")
    again = run_job(db, db_path, "import-courses", {"file": str(f)})
    assert again.status == "succeeded", again.error
    assert db.execute_sql("SELECT name FROM course").fetchall() == [("Course 1",)]


def test_a_csv_reimport_keeps_the_rental_card_assign_cards_gave(db, db_path, tmp_path):
    """The entry file is blank where a runner has no card of their own, on every import: the rental
    card Assign Cards gave stays; a card number in the file (their own card after all) replaces it."""
    f = tmp_path / "entries.csv"
    head = "Stno;SI card;Surname;First name;YB;S;Cl.name;Short\n"
    f.write_text(head + "1;8123456;A;Ann;1985;F;OK;D21\n2;;B;Ben;1990;M;OK;H21\n", encoding="utf-8")
    assert run_job(db, db_path, "import-entries", {"file": str(f)}).status == "succeeded"
    assert run_job(db, db_path, "import-cards", {"range_from": 900001, "range_to": 900010, "rental": True}).status == "succeeded"
    assert run_job(db, db_path, "assign-cards", {}).status == "succeeded"

    def cards_of(given: str) -> list[str]:
        return [r[0] for r in db.execute_sql(
            "SELECT c.number FROM card c JOIN entry_card ec ON ec.card_id = c.id JOIN entry e ON e.id = ec.entry_id "
            "JOIN person p ON p.id = e.person_id WHERE p.given = ?", (given,))]

    assert cards_of("Ben") == ["900001"]
    again = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert cards_of("Ben") == ["900001"] and "2 unchanged" in log_text(db, again)
    f.write_text(head + "1;8123456;A;Ann;1985;F;OK;D21\n2;2045678;B;Ben;1990;M;OK;H21\n", encoding="utf-8")
    assert run_job(db, db_path, "import-entries", {"file": str(f)}).status == "succeeded"
    assert cards_of("Ben") == ["2045678"]


def test_card_numbers_in_an_entry_list_are_checked_and_a_shared_card_is_named(db, db_path, tmp_path):
    """'8 123 456' is card 8123456; a 20-digit number is left out with a warning (as a CSV refuses it);
    two runners holding one card are named, since a readout of it would be taken for either."""
    f = tmp_path / "entries.xml"
    f.write_text(entry_list(person_entry("1", "11", "Ola", "Nordmann", "H21", card="8 123 456"),
                            person_entry("2", "12", "Kari", "Nordmann", "D21", card="8123456"),
                            person_entry("3", "13", "Per", "Long", "H21", card="99999999999999999999")), encoding="utf-8")
    run = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert run.status == "succeeded", run.error
    log = log_text(db, run)
    assert "line 6: card '99999999999999999999' is not a card number (up to 9 digits): left out" in log
    assert "SI card 8123456 is held by several runners of this race: Ola Nordmann, Kari Nordmann" in log
    numbers = sorted(r[0] for r in db.execute_sql("SELECT number FROM card"))
    assert numbers == ["8123456"]


def test_a_person_id_with_another_given_and_family_name_takes_nobody_over(db, db_path, tmp_path):
    """Person id Eventor 101 is Ola Ødegård's (an earlier file's untyped MeOS id read as Eventor's). An
    Eventor file giving 101 to Anna Svensson is refused for that row; a changed family name alone
    (Ola married) is the same runner and updates."""
    f = tmp_path / "entries.xml"
    f.write_text(entry_list(person_entry("1", "101", "Ola", "Ødegård", "H21")), encoding="utf-8")
    assert run_job(db, db_path, "import-entries", {"file": str(f)}).status == "succeeded"
    f.write_text(entry_list(person_entry("5001", "101", "Anna", "Svensson", "D21")), encoding="utf-8")
    run = run_job(db, db_path, "import-entries", {"file": str(f)})
    assert run.status == "succeeded", run.error
    assert [(e.person.given, e.person.family) for e in Entry.select()] == [("Ola", "Ødegård")]
    assert "line 4: Anna Svensson has the person id of Ola Ødegård: not imported, nothing changed" in log_text(db, run)
    f.write_text(entry_list(person_entry("1", "101", "Ola", "Berg", "H21")), encoding="utf-8")
    assert run_job(db, db_path, "import-entries", {"file": str(f)}).status == "succeeded"
    assert [(e.person.given, e.person.family) for e in Entry.select()] == [("Ola", "Berg")]


def test_an_entry_edited_by_hand_cannot_take_another_runners_card_or_bib(db, db_path, tmp_path):
    """Two runners of a race with one card: a readout of it would be taken for either. Refused by field,
    naming the holder; nothing saved. A withdrawn runner holds nothing."""
    import pytest

    from t4o_tui.engine.event_setup import SetupError
    from t4o_tui.engine.queries.event import edit_entry

    f = tmp_path / "entries.csv"
    f.write_text("PERSON FIRST NAME;PERSON LAST NAME;CLASS NAME;BIB NO;CARD NO\n"
                 "Karoline;Bjørnstad;D12;100;7029564\nNina;Grimstad;D12;101;7029565\n", encoding="utf-8")
    assert run_job(db, db_path, "import-entries", {"file": str(f)}).status == "succeeded"
    karoline = Entry.get(Entry.bib == "100")
    with pytest.raises(SetupError) as card:
        edit_entry(db, karoline.id, class_id=karoline.klass.id, bib="100", card="7029565", status="entered", now=0)
    assert (card.value.field, card.value.message) == ("card", "7029565 is Nina Grimstad's (D12): take it from them first")
    with pytest.raises(SetupError) as bib:
        edit_entry(db, karoline.id, class_id=karoline.klass.id, bib="101", card="7029564", status="entered", now=0)
    assert (bib.value.field, bib.value.message) == ("bib", "101 is Nina Grimstad's (D12): take it from them first")
    assert Entry.get_by_id(karoline.id).hand_edited == 0  # nothing saved
    nina = Entry.get(Entry.bib == "101")
    edit_entry(db, nina.id, class_id=nina.klass.id, bib="101", card="7029565", status="withdrawn", now=0)
    edit_entry(db, karoline.id, class_id=karoline.klass.id, bib="100", card="7029565", status="entered", now=0)
