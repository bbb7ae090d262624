"""Create Starts, the CSV start file, Assign Cards and the Import Cards readers."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from t4o_tui.orienteering.cards import (
    MAX_RANGE,
    CardAssignment,
    CardEntry,
    CardTarget,
    assign_cards,
    card_range,
    parse_card_range,
    read_card_file,
)
from t4o_tui.orienteering.entry_table import TableError
from t4o_tui.orienteering.starts import (
    StartClass,
    StartSlot,
    StartType,
    create_starts,
    read_start_file,
)

OSLO = ZoneInfo("Europe/Oslo")


def at(hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(2025, 6, 14, hh, mm, ss, tzinfo=OSLO)


def by_class(starts: list[StartSlot], class_id: int) -> list[StartSlot]:
    return [s for s in starts if s.class_id == class_id]


def times(starts: list[StartSlot], class_id: int) -> list[datetime | None]:
    return [s.time for s in by_class(starts, class_id)]


# --- Create Starts ---------------------------------------------------------------------------

def test_interval_arithmetic_bibs_and_vacancies() -> None:
    c = StartClass(1, "H21", entries=3, vacancies=2, first_start=at(10), interval=90, bib_start=101)
    result = create_starts([c])
    assert [(s.order, s.bib, s.time) for s in result.starts] == [
        (k, 101 + k, at(10) + timedelta(seconds=90 * k)) for k in range(5)
    ]
    assert result.warnings == []


def test_no_bib_series_means_no_bibs() -> None:
    result = create_starts([StartClass(1, "H21", entries=2, first_start=at(10), interval=60)])
    assert [s.bib for s in result.starts] == [None, None]


def test_classes_sharing_a_course_get_consecutive_times() -> None:
    a = StartClass(1, "H50", entries=2, first_start=at(10), interval=120, course="A", draw_order=1)
    b = StartClass(2, "D21", entries=3, interval=60, course="A", draw_order=2)
    other = StartClass(3, "H10", entries=1, first_start=at(10), interval=60, course="B")
    starts = create_starts([b, other, a]).starts
    assert times(starts, 1) == [at(10), at(10, 2)]
    # The larger interval separates the classes: last H50 start 10:02, then 2 minutes.
    assert times(starts, 2) == [at(10, 4), at(10, 5), at(10, 6)]
    assert times(starts, 3) == [at(10)]  # another course: its own timeline
    assert [s.class_id for s in starts] == [1, 1, 2, 2, 2, 3]  # draw order, then name


def test_start_box_links_classes_transitively() -> None:
    a = StartClass(1, "A", entries=1, first_start=at(10), interval=60, course="X", draw_order=1)
    b = StartClass(2, "B", entries=1, interval=60, course="X", start_box="1", draw_order=2)
    c = StartClass(3, "C", entries=1, interval=60, course="Y", start_box="1", draw_order=3)
    starts = create_starts([a, b, c]).starts
    assert [times(starts, i)[0] for i in (1, 2, 3)] == [at(10), at(10, 1), at(10, 2)]


def test_draw_order_orders_the_group() -> None:
    a = StartClass(1, "A", entries=2, interval=60, course="X", draw_order=2)
    b = StartClass(2, "B", entries=2, interval=60, course="X", draw_order=1)
    c = StartClass(3, "C", entries=1, interval=60, course="X")  # no draw order: last
    result = create_starts([a, b, c], race_first_start=at(11))
    assert times(result.starts, 2) == [at(11), at(11, 1)]
    assert times(result.starts, 1) == [at(11, 2), at(11, 3)]
    assert times(result.starts, 3) == [at(11, 4)]
    assert [s.class_id for s in result.starts] == [2, 2, 1, 1, 3]


def test_group_first_start_comes_from_earliest_class_that_has_one() -> None:
    a = StartClass(1, "A", entries=2, interval=60, course="X", draw_order=1)
    b = StartClass(2, "B", entries=1, first_start=at(10), interval=60, course="X", draw_order=2)
    result = create_starts([a, b], race_first_start=at(9))
    assert times(result.starts, 1) == [at(10), at(10, 1)]
    assert times(result.starts, 2) == [at(10, 2)]  # its first start is the group's: no warning
    assert result.warnings == []


def test_own_first_start_later_than_the_chain_leaves_a_gap() -> None:
    a = StartClass(1, "A", entries=2, first_start=at(10), interval=60, course="X", draw_order=1)
    b = StartClass(2, "B", entries=2, first_start=at(11), interval=60, course="X", draw_order=2)
    c = StartClass(3, "C", entries=1, interval=60, course="X", draw_order=3)
    result = create_starts([a, b, c])
    assert times(result.starts, 2) == [at(11), at(11, 1)]
    assert times(result.starts, 3) == [at(11, 2)]
    assert result.warnings == []


def test_first_start_taken_by_earlier_classes_is_pushed_with_a_warning() -> None:
    a = StartClass(1, "A", entries=5, first_start=at(10), interval=60, course="X", draw_order=1)
    b = StartClass(2, "B", entries=1, first_start=at(10, 2), interval=60, course="X", draw_order=2)
    result = create_starts([a, b])
    assert times(result.starts, 2) == [at(10, 5)]
    assert result.warnings == [
        "class B: first start 10:02:00 is taken by classes before it on the same course or "
        "start box; starts from 10:05:00"
    ]


def test_every_class_with_the_race_default_simply_chains() -> None:
    classes = [
        StartClass(i, f"C{i}", entries=2, first_start=at(10), interval=60, course="X", draw_order=i)
        for i in range(1, 4)
    ]
    result = create_starts(classes)
    assert [s.time for s in result.starts] == [at(10, k) for k in range(6)]
    assert result.warnings == []


def test_mass_and_free_start_classes_get_no_times_and_do_not_hold_the_course() -> None:
    mass = StartClass(1, "Mass", entries=3, start_type=StartType.MASS, first_start=at(10),
                      course="X", bib_start=1, draw_order=1)
    free = StartClass(2, "Free", entries=2, start_type=StartType.FREE, course="X", draw_order=2)
    interval = StartClass(3, "Int", entries=1, first_start=at(10), interval=60, course="X",
                          draw_order=3)
    starts = create_starts([mass, free, interval]).starts
    assert times(starts, 1) == [None] * 3 and [s.bib for s in by_class(starts, 1)] == [1, 2, 3]
    assert times(starts, 2) == [None] * 2
    assert times(starts, 3) == [at(10)]


def test_no_first_start_anywhere() -> None:
    c = StartClass(1, "H21", entries=2, interval=60)
    result = create_starts([c])
    assert times(result.starts, 1) == [None, None]
    assert result.warnings == ["class H21: no first start, starts created without times"]
    assert times(create_starts([c], race_first_start=at(9)).starts, 1) == [at(9), at(9, 1)]


def test_warnings_for_bib_overlap_and_zero_interval() -> None:
    a = StartClass(1, "A", entries=3, first_start=at(10), bib_start=100)
    b = StartClass(2, "B", entries=2, first_start=at(10), bib_start=102, course="Z")
    result = create_starts([a, b])
    assert "class A: start interval 0, all 3 starts at the same time" in result.warnings
    assert "bib series of A (100–102) and B (102–103) overlap" in result.warnings


def test_empty_class_makes_no_starts_and_does_not_move_the_chain() -> None:
    a = StartClass(1, "A", entries=0, first_start=at(10), interval=60, course="X", draw_order=1)
    b = StartClass(2, "B", entries=1, interval=60, course="X", draw_order=2)
    starts = create_starts([a, b]).starts
    assert by_class(starts, 1) == [] and times(starts, 2) == [at(10)]


# --- the CSV start file ----------------------------------------------------------------------

@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_start_file_any_order_and_separator(sep: str) -> None:
    text = sep.join(["START TIME", "course name", "Bib No", "CLASS NAME"]) + "\n"
    text += sep.join(["2025-06-14 10:00:00", "A", "101", "H21"]) + "\n\n"
    text += sep.join(["10:01", "", "", "H21"]) + "\n"
    f = read_start_file(text.encode(), race_date=date(2025, 6, 14), tz=OSLO)
    assert [(r.line, r.class_name, r.bib, r.time, r.course_name) for r in f.rows] == [
        (2, "H21", 101, at(10), "A"),
        (4, "H21", None, at(10, 1), None),
    ]


def test_start_file_encodings() -> None:
    text = "CLASS NAME;BIB NO\nD Ø;1\n"
    assert read_start_file(b"\xef\xbb\xbf" + text.encode()).rows[0].class_name == "D Ø"
    assert read_start_file(text.encode("cp1252")).rows[0].class_name == "D Ø"


def test_start_file_errors_name_line_and_column() -> None:
    text = "CLASS NAME;BIB NO;START TIME\nH21;x;10:00\n;5;\nD21;7;25:00\n"
    with pytest.raises(TableError) as info:
        read_start_file(text.encode(), race_date=date(2025, 6, 14))
    assert [str(p) for p in info.value.problems] == [
        "line 2, column BIB NO: 'x' is not a bib number",
        "line 3, column CLASS NAME: the class name is missing",
        "line 4, column START TIME: '25:00' is not a start time",
    ]
    with pytest.raises(TableError, match="needs a CLASS NAME column"):
        read_start_file(b"BIB NO\n1\n")
    with pytest.raises(TableError, match="race has no date"):
        read_start_file(b"CLASS NAME,START TIME\nH21,10:00\n")


def test_start_file_repeated_bib_is_a_warning() -> None:
    f = read_start_file(b"CLASS NAME,BIB NO\nH21,1\nD21,1\n")
    assert f.warnings == ["line 3: bib 1 repeats line 2"]


# --- Assign Cards ----------------------------------------------------------------------------

def test_cards_ascending_by_club_then_start_time() -> None:
    entries = [
        CardEntry(1, race=1, club="Bækkelaget", start_time=at(10, 5)),
        CardEntry(2, race=1, club="Asker", start_time=at(10, 9)),
        CardEntry(3, race=1, club="Asker", start_time=at(10, 1)),
        CardEntry(4, race=1, club=None, start_time=at(10)),
        CardEntry(5, race=1, club="asker", start_time=None),
    ]
    report = assign_cards(entries, [505, 501, 502, 503, 504, 506])
    assert report.assignments == [
        CardAssignment(3, 501), CardAssignment(2, 502), CardAssignment(5, 503),
        CardAssignment(1, 504), CardAssignment(4, 505),
    ]
    assert report.without_card == [] and report.warnings == []


def test_cards_only_for_entries_without_card_and_held_cards_are_not_free() -> None:
    entries = [CardEntry(1, 1, card=501), CardEntry(2, 1), CardEntry(3, 2, card=502),
               CardEntry(4, 1)]
    report = assign_cards(entries, range(501, 506), reserved=[503])
    assert report.assignments == [CardAssignment(2, 504), CardAssignment(4, 505)]


def test_target_all_replaces_cards() -> None:
    entries = [CardEntry(1, 1, club="B", card=8_123_456), CardEntry(2, 1, club="A", card=501)]
    report = assign_cards(entries, [501, 502], CardTarget.ALL)
    assert report.assignments == [CardAssignment(2, 501), CardAssignment(1, 502)]


def test_same_person_gets_the_same_card_in_every_race() -> None:
    entries = [
        CardEntry(1, race=1, person="p1", club="A", start_time=at(10)),
        CardEntry(2, race=2, person="p1", club="A", start_time=at(9)),
        CardEntry(3, race=1, person="p2", club="A", start_time=at(11)),
        CardEntry(4, race=2, person="p2", club="A", start_time=at(8)),
    ]
    for target in CardTarget:
        report = assign_cards(entries, [7, 8], target)
        assert sorted((a.entry_id, a.card) for a in report.assignments) == [
            (1, 7), (2, 7), (3, 8), (4, 8),
        ]


def test_person_with_a_card_in_one_race_keeps_it_in_the_others() -> None:
    entries = [CardEntry(1, 1, person="p", card=1234), CardEntry(2, 2, person="p"),
               CardEntry(3, 3, person="p"), CardEntry(4, 3, card=1234)]
    report = assign_cards(entries, [9])
    # In race 3 entry 4 holds card 1234, and the person's missing races share one card: card 9.
    assert sorted((a.entry_id, a.card) for a in report.assignments) == [(2, 9), (3, 9)]
    report = assign_cards(entries[:2], [9])
    assert report.assignments == [CardAssignment(2, 1234)]


def test_not_enough_cards() -> None:
    entries = [CardEntry(i, 1, club="A", start_time=at(10, i)) for i in range(1, 5)]
    report = assign_cards(entries, [1, 2])
    assert [a.entry_id for a in report.assignments] == [1, 2]
    assert report.without_card == [3, 4]
    assert report.warnings == [
        "not enough free rental cards: 2 free, 4 needed; 2 entries got none: 3, 4"
    ]
    replaced = assign_cards([CardEntry(1, 1, card=5), CardEntry(2, 1, card=6)], [7], CardTarget.ALL)
    assert replaced.assignments == [CardAssignment(1, 7), CardAssignment(2, None)]


# --- Import Cards ----------------------------------------------------------------------------

@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_card_file_separators_header_and_blank_lines(sep: str) -> None:
    text = f"Card{sep}Info\n\n8001234{sep}Club rental\n8001235\n  \n8001236{sep}\n"
    f = read_card_file(text.encode())
    assert [(c.line, c.number, c.info) for c in f.cards] == [
        (3, 8001234, "Club rental"), (4, 8001235, None), (6, 8001236, None),
    ]


def test_card_file_without_header_and_in_windows_1252() -> None:
    f = read_card_file("501;Løype 1\n502;Ærlig\n".encode("cp1252"))
    assert [(c.number, c.info) for c in f.cards] == [(501, "Løype 1"), (502, "Ærlig")]


def test_card_file_errors_have_line_numbers() -> None:
    text = "number,info\n501\nabc\n0\n1234567890\n-5\n"
    with pytest.raises(TableError) as info:
        read_card_file(text.encode())
    assert [str(p) for p in info.value.problems] == [
        "line 3: 'abc' is not a card number",
        "line 4: '0' is not a card number (must be positive)",
        "line 5: '1234567890' is not a card number (more than 9 digits)",
        "line 6: '-5' is not a card number",
    ]


def test_card_file_repeated_number_is_a_warning() -> None:
    f = read_card_file(b"501,a\n502\n501,b\n")
    assert [c.number for c in f.cards] == [501, 502]
    assert f.warnings == ["line 3: card 501 repeats line 1, ignored"]


def test_card_range() -> None:
    assert card_range(500, 503) == [500, 501, 502, 503]
    assert parse_card_range(" 500 – 502 ") == [500, 501, 502]
    with pytest.raises(ValueError, match="runs backwards: the first number must not be greater"):
        card_range(600, 500)
    with pytest.raises(ValueError, match=f"at most {MAX_RANGE}"):
        card_range(1, 2_000_000)
    with pytest.raises(ValueError, match="not a range"):
        parse_card_range("500")
    with pytest.raises(ValueError, match="not a card number"):
        card_range(0, 5)


def test_a_readout_export_is_no_card_list() -> None:
    """SI Config+'s export starts with a row counter: read as a card list, it made cards 1, 2, 3."""
    text = "No;Read on;SIID;Start no\n1;01.06.2025 11:45:10;8001234;\n2;01.06.2025 11:46:10;8001235;\n"
    with pytest.raises(TableError) as info:
        read_card_file(text.encode())
    assert [str(p) for p in info.value.problems] == [
        "line 1: column 3 (SIID) holds the card numbers, not the first: a card list has them first "
        "(is this a readout export?)"]
