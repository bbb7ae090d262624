"""Entry tables (CSV and Excel): columns, arguments, blank-clears, encodings and errors."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from t4o_tui.orienteering.entry_table import (
    ABSENT,
    CLEAR,
    ENTRY_COLUMNS,
    EntryTable,
    TableError,
    parse_start_time,
    read_entry_table,
    split_name,
)

OSLO = ZoneInfo("Europe/Oslo")
RACE_DAY = date(2025, 6, 14)


def read(text: str, encoding: str = "utf-8", **kw: object) -> EntryTable:
    return read_entry_table(text.encode(encoding), race_date=RACE_DAY, tz=OSLO, **kw)  # type: ignore[arg-type]


def problems(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(TableError) as info:
        read_entry_table(data, race_date=RACE_DAY)
    return [str(p) for p in info.value.problems]


def test_every_column() -> None:
    header = ";".join(ENTRY_COLUMNS).replace("PERSON NAME;", "")
    values = ("E1;P7;Kari;Nordmann;Jente;1990;1990-03-04;3;1234,5;77;D21;Asker SK;"
              "8123456;101;2025-06-14 10:03:00;Long")
    table = read(f"{header}\n{values}\n")
    row = table.rows[0]
    assert (row.line, row.entry_identifiers, row.person_identifiers) == (2, {None: "E1"}, {None: "P7"})
    assert (row.given_name, row.family_name, row.sex) == ("Kari", "Nordmann", "F")
    assert (row.birth_year, row.birth_date) == (1990, date(1990, 3, 4))
    assert (row.seeding, row.points, row.person_bib) == (3, 1234.5, 77)
    assert (row.class_name, row.organisation_name, row.cards) == ("D21", "Asker SK", {None: 8123456})
    assert (row.bib, row.course_name) == (101, "Long")
    assert row.start_time == datetime(2025, 6, 14, 10, 3, tzinfo=OSLO)
    assert table.warnings == []
    assert len(table.columns) == len(ENTRY_COLUMNS) - 1


@pytest.mark.parametrize("text", ["M", "male", "Man", "MEN", "Mann", "gutt"])
def test_sex_male_aliases(text: str) -> None:
    assert read(f"PERSON SEX\n{text}\n").rows[0].sex == "M"


@pytest.mark.parametrize("text", ["F", "Female", "woman", "Women", "Kvinne", "JENTE"])
def test_sex_female_aliases(text: str) -> None:
    assert read(f"PERSON SEX\n{text}\n").rows[0].sex == "F"


@pytest.mark.parametrize(("name", "given", "family"), [
    ("Ola Nordmann", "Ola", "Nordmann"),
    ("Kari Anne  Hansen", "Kari Anne", "Hansen"),
    ("Nordmann, Ola", "Ola", "Nordmann"),
    ("Cher", "", "Cher"),
])
def test_split_name(name: str, given: str, family: str) -> None:
    assert split_name(name) == (given, family)


def test_person_name_fills_absent_first_and_last() -> None:
    rows = read('PERSON NAME\n"Nordmann, Ola"\nCher\n\n"  "\n').rows
    assert [(r.given_name, r.family_name) for r in rows] == [("Ola", "Nordmann"), (CLEAR, "Cher")]
    row = read("PERSON FIRST NAME;PERSON NAME\nKari;Kari Hansen\n").rows[0]
    assert (row.given_name, row.family_name) == ("Kari", "Hansen")
    table = read("PERSON FIRST NAME;PERSON LAST NAME;PERSON NAME\nKari;Hansen;X Y\n")
    assert (table.rows[0].given_name, table.rows[0].family_name) == ("Kari", "Hansen")
    assert table.warnings == [
        "PERSON NAME ignored: PERSON FIRST NAME and PERSON LAST NAME are present"
    ]


def test_blank_name_clears_both() -> None:
    row = read("PERSON NAME;CLASS NAME\n;H21\n").rows[0]
    assert (row.given_name, row.family_name) == (CLEAR, CLEAR)


def test_colon_arguments() -> None:
    table = read(
        "CARD NO:emiTag;CARD NO : SI;person identifier:IOF;PERSON IDENTIFIER:Norway;"
        "ENTRY IDENTIFIER;CLASS NAME:x\n"
        "123456;8001234;IOF-1;;E-9;H21\n"
    )
    row = table.rows[0]
    assert row.cards == {"emiTag": 123456, "SI": 8001234}
    assert row.person_identifiers == {"IOF": "IOF-1", "Norway": CLEAR}
    assert row.entry_identifiers == {None: "E-9"}
    assert row.class_name == "H21"
    assert table.columns[:2] == ["CARD NO:emiTag", "CARD NO:SI"]
    assert table.warnings == ["column CLASS NAME takes no argument: ':x' ignored"]


def test_blank_cell_clears_and_absent_column_keeps() -> None:
    rows = read("CLASS NAME,BIB NO,START TIME,CARD NO\nH21,,,\nD21\n").rows
    for row in rows:
        assert (row.bib, row.start_time, row.cards) == (CLEAR, CLEAR, {None: CLEAR})
        assert row.organisation_name is ABSENT and row.given_name is ABSENT
        assert row.person_identifiers == {}
    assert [r.class_name for r in rows] == ["H21", "D21"]


def test_titles_ignore_case_and_spaces() -> None:
    row = read("  person   sex ; Class Name \nM;H21\n").rows[0]
    assert (row.sex, row.class_name) == ("M", "H21")


def test_unknown_columns_are_reported() -> None:
    table = read("Name;CLASS NAME;Comment\nOla;H21;hi\n")
    assert table.warnings == ["unknown columns ignored: Name, Comment"]
    assert table.rows[0].class_name == "H21"


def test_unknown_columns_only_is_an_error() -> None:
    [message] = problems("Name;Club\nOla;Asker\n")
    assert message.startswith("line 1: no known column; known: ENTRY IDENTIFIER, PERSON IDENTIFIER")


def test_the_titles_of_oe_style_exports_when_they_name_first_name_and_surname() -> None:
    header = "Stno;SI card;Database Id;Surname;First name;YB;S;Cl.name;Short;Course;" + ";".join(f"Punch{i}" for i in range(30))
    table = read(f"{header}\n7;2071234;5501;Ærø;Bjørn;87;M;Åsane;H21;A\n8;;;Hansen;Kari;1925;F;;D21;B\n")
    first, second = table.rows
    assert (first.bib, first.cards, first.person_identifiers) == (7, {None: 2071234}, {"OE": "5501"})
    assert (first.given_name, first.family_name, first.birth_year, first.sex) == ("Bjørn", "Ærø", 1987, "M")
    assert (first.organisation_name, first.class_name, first.course_name) == ("Åsane", "H21", "A")
    assert second.birth_year == 1925 and second.cards == {None: CLEAR}
    assert table.warnings == ["unknown columns ignored: " + ", ".join(f"Punch{i}" for i in range(15)) + " and 15 more"]
    # Without both name columns the same titles are not taken for ours ("Short", "S" mean too little).
    table = read("Short;S;CLASS NAME\nx;M;H21\n")
    assert table.columns == ["CLASS NAME"] and table.rows[0].sex is ABSENT


@pytest.mark.parametrize(("text", "year"), [("87", 1987), ("25", 2025), ("26", 1926), ("00", 2000), ("1950", 1950)])
def test_two_digit_birth_years_are_the_hundred_years_up_to_the_race(text: str, year: int) -> None:
    assert read(f"PERSON BIRTHYEAR\n{text}\n").rows[0].birth_year == year  # the race is in 2025


def test_repeated_column_is_an_error() -> None:
    assert problems("BIB NO;bib no\n1;2\n") == ["line 1: column BIB NO appears twice"]


def test_cell_errors_name_line_and_column() -> None:
    text = ("CLASS NAME;PERSON BIRTHYEAR;PERSON BIRTHDATE;PERSON SEX;BIB NO;CARD NO:SI;"
            "PERSON SEEDING;PERSON POINTS;START TIME\n"
            "H21;1990;1990-01-01;M;1;5;1;1;10:00\n"
            "H21;abc;1990-02-30;X;0;-4;1.5;x;tomorrow\n")
    assert problems(text) == [
        "line 3, column PERSON BIRTHYEAR: 'abc' is not a year",
        "line 3, column PERSON BIRTHDATE: '1990-02-30' is not a date (2025-12-31)",
        "line 3, column PERSON SEX: 'X' is not a sex (M, H, Male, Man, Men, Mann, Gutt / "
        "F, D, W, K, Female, Woman, Women, Kvinne, Jente)",
        "line 3, column BIB NO: '0' is not a bib number",
        "line 3, column CARD NO:SI: '-4' is not a card number",
        "line 3, column PERSON SEEDING: '1.5' is not a seeding (a whole number)",
        "line 3, column PERSON POINTS: 'x' is not a number of points",
        "line 3, column START TIME: 'tomorrow' is not a start time (2025-12-31 23:59:59 or 23:59:59)",
    ]


def test_start_time_forms() -> None:
    rows = read(
        "START TIME\n2025-06-15 09:00:00\n10:30\n10:30:15\n2025-06-14T12:00:00+00:00\n"
    ).rows
    assert [r.start_time for r in rows] == [
        datetime(2025, 6, 15, 9, tzinfo=OSLO),
        datetime(2025, 6, 14, 10, 30, tzinfo=OSLO),
        datetime(2025, 6, 14, 10, 30, 15, tzinfo=OSLO),
        datetime(2025, 6, 14, 12, tzinfo=UTC),
    ]
    naive = read_entry_table(b"START TIME\n10:30\n", race_date=RACE_DAY).rows[0]
    assert naive.start_time == datetime(2025, 6, 14, 10, 30)
    assert problems(b"START TIME\n2025-06-14\n") == [
        "line 2, column START TIME: '2025-06-14' is a date without a time of day"
    ]
    with pytest.raises(TableError, match="a time without a date, and the race has no date"):
        read_entry_table(b"START TIME\n10:30\n")



def test_start_times_of_day_past_midnight_in_a_night_race() -> None:
    """With the race's first start at 22:00, a time of day before it is the next day's when that is
    less than 12 hours after the first start; else it stays on the race's date (as without one)."""
    first = datetime(2025, 6, 14, 22, tzinfo=OSLO).timestamp()
    text = "START TIME\n22:30\n00:30\n11:00\n2025-06-14 00:45\n"
    rows = read_entry_table(text.encode(), race_date=RACE_DAY, tz=OSLO, first_start=first).rows
    assert [r.start_time for r in rows] == [
        datetime(2025, 6, 14, 22, 30, tzinfo=OSLO),
        datetime(2025, 6, 15, 0, 30, tzinfo=OSLO),
        datetime(2025, 6, 14, 11, tzinfo=OSLO),  # 13 hours after: a typo, not the next day
        datetime(2025, 6, 14, 0, 45, tzinfo=OSLO),  # a full date and time is taken as written
    ]
    # An Excel time cell follows the same rule; without the first start, the race's date as before.
    assert parse_start_time(time(0, 30), RACE_DAY, OSLO, first).date() == date(2025, 6, 15)
    assert parse_start_time("00:30", RACE_DAY, OSLO).date() == RACE_DAY


def test_the_next_day_keeps_the_clock_across_a_dst_change() -> None:
    """Oslo falls back on 2027-10-31 at 03:00: the night's 02:30 is the wall-clock time, not 24 h on."""
    first = datetime(2027, 10, 30, 23, tzinfo=OSLO).timestamp()
    got = parse_start_time("02:30", date(2027, 10, 30), OSLO, first)
    assert got.replace(tzinfo=None) == datetime(2027, 10, 31, 2, 30) and got.utcoffset() == timedelta(hours=2)


def test_birth_year_from_birth_date_and_mismatch_warning() -> None:
    assert read("PERSON BIRTHDATE\n31.12.2009\n").rows[0].birth_year == 2009
    table = read("PERSON BIRTHYEAR;PERSON BIRTHDATE\n2008;2009-12-31\n")
    assert table.warnings == [
        "line 2: PERSON BIRTHYEAR 2008 does not match PERSON BIRTHDATE 2009-12-31"
    ]


@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_delimiter_is_sniffed(sep: str) -> None:
    row = read(f"CLASS NAME{sep}ORGANISATION NAME\nH21{sep}\"Asker, SK\"\n").rows[0]
    assert (row.class_name, row.organisation_name) == ("H21", "Asker, SK")


def test_encodings() -> None:
    text = "ORGANISATION NAME;PERSON LAST NAME\nBækkelaget;Sæther\n"
    for data in (
        text.encode("utf-8"), b"\xef\xbb\xbf" + text.encode("utf-8"), text.encode("cp1252"),
        text.encode("utf-16"),
    ):
        row = read_entry_table(data).rows[0]
        assert (row.organisation_name, row.family_name) == ("Bækkelaget", "Sæther")


def test_multiline_quoted_cell_keeps_line_numbers() -> None:
    text = 'CLASS NAME;PERSON BIRTHYEAR\n"H\n21";1990\nD21;abc\n'
    assert problems(text) == ["line 4, column PERSON BIRTHYEAR: 'abc' is not a year"]


def test_truncated_csv_is_a_clear_error() -> None:
    text = 'CLASS NAME;ORGANISATION NAME\nH21;Asker\nD21;"Bækkelaget\nH35;Nydalen\n'
    assert problems(text) == [
        "line 3: a quoted field opened here is never closed (is the file truncated?)"
    ]


def test_empty_and_old_excel_files() -> None:
    assert problems(b"") == ["the file is empty"]
    assert problems(b"\xd0\xcf\x11\xe0rest") == [
        "old Excel .xls files are not read: save as .xlsx or CSV"
    ]


def test_xlsx() -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Person Name", "PERSON BIRTHYEAR", "PERSON BIRTHDATE", "CARD NO", "START TIME",
                  "BIB NO", "Notes", "CLASS NAME"])
    sheet.append(["Ola Nordmann", 1990, datetime(1990, 5, 6), 8001234.0,
                  datetime(2025, 6, 14, 10, 1), 12, "x", "H21"])
    sheet.append(["Kari Hansen", None, None, None, time(10, 2), None, None, "D21"])
    sheet.append([None] * 8)
    sheet.append(["Per", 1991.0, None, 5, timedelta(hours=10, minutes=3), 14, None, "H21"])
    second = book.create_sheet("ignored")
    second.append(["nothing"])
    buffer = io.BytesIO()
    book.save(buffer)
    table = read_entry_table(buffer.getvalue(), race_date=RACE_DAY, tz=OSLO)
    assert table.warnings == ["unknown columns ignored: Notes"]
    first, second_row, third = table.rows
    assert (first.line, first.given_name, first.family_name) == (2, "Ola", "Nordmann")
    assert (first.birth_year, first.birth_date, first.cards) == (1990, date(1990, 5, 6), {None: 8001234})
    assert (first.start_time, first.bib) == (datetime(2025, 6, 14, 10, 1, tzinfo=OSLO), 12)
    assert (second_row.birth_year, second_row.cards, second_row.bib) == (CLEAR, {None: CLEAR}, CLEAR)
    assert second_row.start_time == datetime(2025, 6, 14, 10, 2, tzinfo=OSLO)
    assert (third.line, third.birth_year, third.given_name, third.family_name) == (5, 1991, CLEAR, "Per")
    assert third.start_time == datetime(2025, 6, 14, 10, 3, tzinfo=OSLO)


def test_xlsx_errors_name_the_row() -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(["CLASS NAME", "PERSON BIRTHYEAR"])
    book.active.append(["H21", "nineteen"])
    buffer = io.BytesIO()
    book.save(buffer)
    assert problems(buffer.getvalue()) == ["row 2, column PERSON BIRTHYEAR: 'nineteen' is not a year"]
    assert problems(b"PK\x03\x04broken")[0].startswith("not a readable Excel .xlsx file")


def test_many_problems_are_capped() -> None:
    text = "PERSON BIRTHYEAR\n" + "x\n" * 500
    with pytest.raises(TableError) as info:
        read_entry_table(text.encode())
    assert len(info.value.problems) == 100
    assert str(info.value).endswith("… and 90 more")


def test_oe_and_meos_exports_in_their_own_languages() -> None:
    """OE2010's Chipno, MeOS's Swedish and German layouts and their one-letter sex codes (K, W, H, D)."""
    oe = ("OE0001;Stno;XStno;Chipno;Database Id;Surname;First name;YB;S;Block;nc;Start;Finish;Time;Classifier;"
          "Club no.;Cl.name;City;Nat;Cl. no.;Short;Long\n;101;;2045678;12345;Ødegård;Åse;1985;F;;0;10:02:00;;;;1;"
          "OK Ørn;X;NOR;1;D21;Damer 21\n")
    (row,) = read_entry_table(oe.encode("cp1252")).rows
    assert (row.cards, row.bib, row.family_name) == ({None: 2045678}, 101, "Ødegård")
    se = ("Startnr;Bricka;Databas nr.;Efternamn;Förnamn;År;K;Block;ut;Start;Mål;Tid;Status;Klubb nr.;Namn;Ort;Nat;"
          "Klass nr.;Kort;Lång\n12;8123456;4711;Ödegård;Åsa;1985;K;;0;;;;;12;OK Ravinen;Nacka;SWE;3;D21;Damer 21\n")
    (row,) = read_entry_table(("\ufeff" + se).encode()).rows
    assert (row.cards, row.bib, row.sex, row.birth_year, row.class_name, row.organisation_name) == (
        {None: 8123456}, 12, "F", 1985, "D21", "OK Ravinen")
    assert row.person_identifiers == {"OE": "4711"}
    de = ("Stnr;Chip;Datenbank Id;Nachname;Vorname;Jg;G;Block;AK;Start;Ziel;Zeit;Wertung;Club-Nr.;Abk;Ort;Nat;Katnr;"
          "Kurz;Lang\n101;2045678;;Müller;Anna;1990;W;;0;;;;;5;SC Süd;Ort;GER;2;D21;Damen 21\n"
          "102;2045679;;Maier;Jan;1991;H;;0;;;;;5;SC Süd;Ort;GER;1;H21;Herren 21\n")
    rows = read_entry_table(de.encode()).rows
    assert [(r.bib, r.sex, r.class_name) for r in rows] == [(101, "F", "D21"), (102, "M", "H21")]
    # French: the surname and the club's name are both "Nom"; the club's follows its number.
    fr = ("N° dép.;Puce;Ident. base de données;Nom;Prénom;Né;S;Plage;nc;Départ;Arrivée;Temps;Evaluation;N° club;Nom;"
          "Ville;Nat;N° cat.;Court;Long\n31;2045678;555;Dupont;Marie;1988;F;;0;;;;;7;COLE Lyon;Lyon;FRA;2;D21;Dames 21\n")
    (row,) = read_entry_table(fr.encode("cp1252")).rows
    assert (row.bib, row.cards, row.family_name, row.given_name, row.birth_year, row.organisation_name, row.class_name) == (
        31, {None: 2045678}, "Dupont", "Marie", 1988, "COLE Lyon", "D21")
    assert row.person_identifiers == {"OE": "555"}
    dk = "Stnr;Brik;Database ID;Efternavn;Fornavn;K\n7;512345;;Jensen;Mette;D\n"
    (row,) = read_entry_table(dk.encode()).rows
    assert (row.bib, row.cards, row.family_name, row.sex) == (7, {None: 512345}, "Jensen", "F")


def test_a_file_whose_lines_are_in_two_encodings_reads_each_line_right_and_says_so() -> None:
    """A UTF-8 file with a row added by a Windows editor (windows-1252): both names right, and a warning."""
    data = ("PERSON NAME;CLASS NAME;ORGANISATION NAME\nÅse Ødegård;D21;OK Ørn\n".encode()
            + "Jürgen Müller;H50;SC Süd\n".encode("cp1252"))
    table = read_entry_table(data)
    assert [(r.given_name, r.family_name, r.organisation_name) for r in table.rows] == [
        ("Åse", "Ødegård", "OK Ørn"), ("Jürgen", "Müller", "SC Süd")]
    assert "the file mixes two encodings: line 3 read as windows-1252, the others as UTF-8" in table.warnings
    # A file in windows-1252 throughout is no mix: no warning.
    plain = read_entry_table("PERSON NAME;CLASS NAME\nJürgen Müller;H50\n".encode("cp1252"))
    assert plain.rows[0].family_name == "Müller" and not any("encodings" in w for w in plain.warnings)
