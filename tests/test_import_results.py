"""Import Results: ResultLists of other programs read back as a race's results (issue 16).

The files are generated here as OE-style programs write them: no namespace, windows-1252, decimal
commas and tenths of a second; and the official examples.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from t4o_tui.engine.runs import run_log
from t4o_tui.orienteering import iof
from t4o_tui.orienteering.punch_check import Status
from t4o_tui.orienteering.ranking import ResultEntry, rank_class
from t4o_tui.store.models import Entry, Event, Person, Result

from conftest import SHARED, iof_examples, run_job

XSD = SHARED / "iof" / "IOF.xsd"


def log_text(db, run) -> str:
    return "\n".join(line.message for line in run_log(db, run.id))


def person_result(family: str, given: str, club: str, card: str, time: str | None, status: str,
                  position: int | None, splits: list[tuple[str, str | None]]) -> str:
    parts = [f"<PersonResult><Person><Name><Family>{family}</Family><Given>{given}</Given></Name></Person>",
             f"<Organisation><Name>{club}</Name></Organisation><Result>",
             "<StartTime>2026-06-06T10:00:00+02:00</StartTime>"]
    if time is not None:
        parts.append(f"<Time>{time}</Time>")
    if position is not None:
        parts.append(f"<Position>{position}</Position>")
    parts.append(f"<Status>{status}</Status>")
    for code, t in splits:
        if t is None:
            parts.append(f'<SplitTime status="Missing"><ControlCode>{code}</ControlCode></SplitTime>')
        else:
            parts.append(f"<SplitTime><ControlCode>{code}</ControlCode><Time>{t}</Time></SplitTime>")
    parts.append(f"<ControlCard>{card}</ControlCard></Result></PersonResult>")
    return "".join(parts)


# As the source ranked them at 0.1 s: 978.3 wins, 978.5 and 978.5 share 2nd, 1001.0 is 4th.
SOURCE = [
    ("Ødegård", "Åse", "Bækkelagets SK", "500001", "978,3", "OK", 1, [("31", "301,4"), ("32", "650,0")]),
    ("Lien", "Kari", "IL Tyrving", "500002", "978,5", "OK", 2, [("31", "299,9"), ("32", "655,2")]),
    ("Berg", "Ida", "Halden SK", "500003", "978,5", "OK", 2, [("31", "310,0"), ("32", "640,1")]),
    ("Ås", "Mia", "Halden SK", "500004", "1001,0", "OK", 4, [("31", "320,0"), ("32", "700,0")]),
    ("Sæther", "Eva", "IL Tyrving", "500005", "1100,7", "MissingPunch", None, [("31", "330,0"), ("32", None)]),
    ("Holm", "Siv", "IL Tyrving", "500006", None, "DidNotStart", None, []),
]


def oe_result_list() -> bytes:
    """Namespace-less, no encoding declared, windows-1252 bytes, decimal commas, one relay team."""
    body = "".join(person_result(*r) for r in SOURCE)
    text = ('<?xml version="1.0"?>\n<ResultList iofVersion="3.0" creator="OE2010">\n'
            "<Event><Name>Sommerløpet</Name><StartTime><Date>2026-06-06</Date></StartTime></Event>\n"
            f'<ClassResult timeResolution="0.1"><Class><Name>D21</Name></Class>\n{body}\n</ClassResult>\n'
            "<ClassResult><Class><Name>Stafett</Name></Class><TeamResult><Name>Tyrving 1</Name></TeamResult>"
            "</ClassResult>\n</ResultList>\n")
    return text.encode("cp1252")


def test_a_result_list_with_decimal_commas_and_tenths_imports_with_the_source_places(db, db_path, tmp_path):
    f = tmp_path / "oe-results.xml"
    f.write_bytes(oe_result_list())
    run = run_job(db, db_path, "import-results", {"file": str(f)})
    assert run.status == "succeeded", run.error
    log = log_text(db, run)
    # One warning per kind of deviation, not one per time.
    assert "times with a decimal comma: 14 (first on line 5), read anyway" in log  # 5 times, 9 split times
    assert log.count("decimal comma") == 1
    assert "no IOF XML 3.0 namespace on the root element: 1" in log
    assert "read as windows-1252" in log
    assert "1 team results skipped: relay results are not imported (only individual results)" in log
    assert "the file's times have a resolution of 0.1 s; the event ranks at 1 s" in log
    assert "results: 6 created" in log
    # At the event's default 1 s, 978.3 and 978.5 tie: the log says which places differ.
    assert "places as the file: 2 of 4 agree at 1 s resolution" in log
    assert Person.get(Person.family == "Ødegård").given == "Åse"
    times = {r.entry.person.family: r.time for r in Result.select()}
    assert times["Ødegård"] == pytest.approx(978.3) and times["Lien"] == pytest.approx(978.5)  # tenths kept
    ase = Result.select().join(Entry).join(Person).where(Person.family == "Ødegård").get()
    assert ase.splits == [["31", pytest.approx(301.4)], ["32", pytest.approx(650.0)]]
    eva = Result.select().join(Entry).join(Person).where(Person.family == "Sæther").get()
    assert (eva.status, eva.missing) == ("MissingPunch", "32")

    # At 0.1 s the event ranks as the source: 0.2 s apart rank apart.
    Event.update(time_resolution=0.1).execute()
    out = run_job(db, db_path, "result-list", {"format": "iof-xml"})
    assert out.status == "succeeded", out.error
    xml = Path(out.output).read_bytes()
    assert iof.validate(xml, XSD) == []
    assert b'<ClassResult timeResolution="0.1">' in xml
    written = iof.read_result_list(xml)
    places = {r.person.family: (r.position, r.time) for c in written.classes for r in c.results}
    assert {k: v[0] for k, v in places.items()} == {r[0]: r[6] for r in SOURCE}
    assert places["Ødegård"][1] == pytest.approx(978.3) and places["Lien"][1] == pytest.approx(978.5)
    csv = run_job(db, db_path, "result-list", {"format": "csv"}, name="csv")
    text = Path(csv.output).read_bytes().decode("utf-8-sig")
    assert ";1;;Åse Ødegård;Bækkelagets SK;16:18.3;;OK" in text and "16:18.5;0:00.2;OK" in text

    again = run_job(db, db_path, "import-results", {"file": str(f)})
    log = log_text(db, again)
    assert "results: 0 created, 0 updated, 6 unchanged" in log and "entries: 0 created" in log
    assert "places as the file: 4 of 4 agree at 0.1 s resolution" in log
    assert Entry.select().count() == 6 and Person.select().count() == 6


def test_two_runners_0_2_s_apart_rank_apart_at_tenths_and_tie_at_seconds():
    entries = [ResultEntry("a", "A", Status.OK, 978.3), ResultEntry("b", "B", Status.OK, 978.5)]
    assert [r.place for r in rank_class(entries, resolution=0.1)] == [1, 2]
    assert [r.behind for r in rank_class(entries, resolution=0.1)] == [0.0, 0.2]
    assert [r.place for r in rank_class(entries)] == [1, 1]
    # 61.3 s is 613 tenths, not 612 (61.3 / 0.1 is 612.999… in binary floating point).
    assert [r.place for r in rank_class([ResultEntry("x", "X", Status.OK, 61.3),
                                         ResultEntry("y", "Y", Status.OK, 61.31)], resolution=0.1)] == [1, 1]


@pytest.mark.parametrize("example", ["ResultList1.xml", "ResultList4.xml"])
def test_official_result_lists_import_and_their_places_agree(db, db_path, example):
    run = run_job(db, db_path, "import-results", {"file": str(iof_examples() / example)})
    assert run.status == "succeeded", run.error
    log = log_text(db, run)
    assert "places as the file:" in log
    agree = log.split("places as the file: ")[1].split(" agree")[0]
    n, _, of = agree.partition(" of ")
    assert n == of and int(n) >= 1


def test_relay_results_are_counted_and_skipped(db, db_path):
    run = run_job(db, db_path, "import-results", {"file": str(iof_examples() / "ResultList2.xml")})
    assert run.status == "succeeded", run.error
    assert "3 team results skipped: relay results are not imported (only individual results)" in log_text(db, run)
    assert Result.select().count() == 0


def test_a_broken_result_list_fails_with_its_line_and_changes_nothing(db, db_path, tmp_path):
    f = tmp_path / "bad.xml"
    f.write_bytes(oe_result_list().replace(b"<Time>1001,0</Time>", b"<Time>ten</Time>"))
    run = run_job(db, db_path, "import-results", {"file": str(f)})
    assert run.status == "failed" and "<Time> is 'ten', expected seconds" in run.error and "line" in run.error
    assert Entry.select().count() == 0 and Result.select().count() == 0


def test_a_runner_timed_here_keeps_this_programs_result(db, db_path, tmp_path):
    from t4o_tui.store.models import Station, StationData

    f = tmp_path / "oe-results.xml"
    f.write_bytes(oe_result_list())
    run_job(db, db_path, "import-results", {"file": str(f)})
    ase = Entry.select().join(Person).where(Person.family == "Ødegård").get()
    StationData.create(race=ase.race, station=Station.get(Station.role == "readout"), card_number="500001",
                       source="test", entry=ase, created_at=0.0)
    Result.update(time=990.0).where(Result.entry == ase).execute()
    again = run_job(db, db_path, "import-results", {"file": str(f)})
    log = log_text(db, again)
    assert "Åse Ødegård has station data here: the result is computed from it and not overwritten" in log
    assert "0 created, 0 updated, 5 unchanged, 1 kept (timed here)" in log
    assert Result.get(Result.entry == ase).time == 990.0
