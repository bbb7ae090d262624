"""Card readout files (SI Config+, SI Reader) and radio punch CSV."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from t4o_tui.orienteering.punch_check import CourseControl, Punch, Status, TimeBase, check_punches
from t4o_tui.orienteering.readouts import (
    RadioShape,
    ReadoutFormat,
    ReadoutHeaderError,
    max_punch_id,
    parse_radio_punches,
    parse_readouts,
    parse_time_of_day,
)

OSLO = ZoneInfo("Europe/Oslo")

# SI Config+ as it exports today: reserve (_r) columns and personal data among the fixed ones.
CONFIG_PLUS = (
    "No;Read on;SIID;Start no;Clear CN;Clear DOW;Clear time;Clear_r CN;Clear_r DOW;Clear_r time;"
    "Check CN;Check DOW;Check time;Start CN;Start DOW;Start time;Start_r CN;Start_r DOW;Start_r time;"
    "Finish CN;Finish DOW;Finish time;Finish_r CN;Finish_r DOW;Finish_r time;Class;First name;Last name;"
    "Club;Country;Email;Date of birth;Sex;Phone;Street;ZIP;City;Hardware version;Software version;"
    "Battery date;Battery voltage;Clear count;Character set;SEL_FEEDBACK;No. of records"
)
CONFIG_HEADER = CONFIG_PLUS.split(";") + [f"Record {k} {p}" for k in range(1, 31) for p in ("CN", "DOW", "time")]

SI_READER = (
    "No.;read at;SI-Card;St no;cat.;First name;name;club;country;sex;year-op;Email;mobile;city;street;zip;"
    "CLR_CN;CLR_DOW;clear time;CHK_CN;CHK_DOW;check time;ST_CN;ST_DOW;start time;FI_CN;FI_DOW;Finish time;"
    "No. of punches"
)
SI_READER_HEADER = SI_READER.split(";") + [f"{k}.{p}" for k in range(1, 21) for p in ("CN", "DOW", "Time")]


def row(header: list[str], values: dict[str, str], records: Sequence[tuple[str, str, str]] = ()) -> str:
    cells = [""] * len(header)
    for name, value in values.items():
        cells[header.index(name)] = value
    first = next(i for i, h in enumerate(header) if h in ("Record 1 CN", "1.CN"))
    for k, triple in enumerate(records):
        cells[first + 3 * k : first + 3 * k + 3] = list(triple)
    return ";".join(cells)


def config_row(no: int, card: str, records: list[tuple[str, str, str]], **extra: str) -> str:
    values = {"No": str(no), "Read on": "01.06.2025 11:45:10", "SIID": card,
              "Check CN": "1", "Check DOW": "Su", "Check time": "10:50:00",
              "Start CN": "1", "Start DOW": "Su", "Start time": "11:00:00",
              "Finish CN": "2", "Finish DOW": "Su", "Finish time": "11:40:05",
              "No. of records": str(len(records))}
    values.update({k.replace("_", " "): v for k, v in extra.items()})
    return row(CONFIG_HEADER, values, records)


PUNCHES = [("31", "Su", "11:05:00"), ("32", "Su", "11:15:30"), ("33", "Su", "11:30:00")]


def test_si_config_plus_rows() -> None:
    text = "\n".join([";".join(CONFIG_HEADER), config_row(1, "8001234", PUNCHES), config_row(2, "2123456", [])])
    f = parse_readouts(text)
    assert f.format is ReadoutFormat.SI_CONFIG_PLUS and f.errors == []
    r = f.readouts[0]
    assert (r.line, r.card, r.number) == (2, 8001234, 1)
    assert r.read_on == datetime(2025, 6, 1, 11, 45, 10)
    assert r.punches == (Punch("31", 11 * 3600 + 300), Punch("32", 11 * 3600 + 930), Punch("33", 11 * 3600 + 1800))
    assert r.start == Punch("1", 39600) and r.finish == Punch("2", 11 * 3600 + 2405)
    assert r.check == Punch("1", 10 * 3600 + 3000) and r.clear is None
    assert not r.twelve_hour
    assert r.raw.startswith("1;01.06.2025 11:45:10;8001234;")
    assert f.readouts[1].punches == ()


def test_readout_feeds_the_punch_check() -> None:
    r = parse_readouts("\n".join([";".join(CONFIG_HEADER), config_row(1, "8001234", PUNCHES)])).readouts[0]
    data = r.card_data()
    assert data.time_base is TimeBase.DAY
    start = datetime(2025, 6, 1, 11, 0, tzinfo=OSLO).timestamp()
    res = check_punches([CourseControl(c) for c in ("31", "32", "33")], data, drawn_start=start, tz=OSLO)
    assert res.status is Status.OK and res.time == 40 * 60 + 5


def test_missing_times_and_fractions() -> None:
    rows = [
        config_row(1, "8001234", [("31", "Su", "11:05:00.50"), ("32", "Su", "--:--:--")],
                   Finish_time="--:--:--", Check_time=""),
    ]
    r = parse_readouts("\n".join([";".join(CONFIG_HEADER), *rows])).readouts[0]
    assert r.finish is None and r.check is None
    assert r.punches == (Punch("31", 11 * 3600 + 300.5), Punch("32", None))


def test_blank_day_of_week_and_si5_numbers_mean_twelve_hour() -> None:
    header = ";".join(CONFIG_HEADER)
    blank = config_row(1, "8001234", [("31", "", "01:05:00")])
    si5 = config_row(2, "123456", PUNCHES)
    f = parse_readouts("\n".join([header, blank, si5]))
    assert [r.twelve_hour for r in f.readouts] == [True, True]
    assert f.readouts[0].card_data().time_base is TimeBase.HALF_DAY


def test_broken_row_is_reported_with_line_and_column() -> None:
    text = "\n".join([
        ";".join(CONFIG_HEADER),
        config_row(1, "8001234", PUNCHES),
        "",
        config_row(2, "8001235", PUNCHES, Finish_time="25:99:00"),
        config_row(3, "abc", PUNCHES),
        config_row(4, "8001236", [("", "Su", "11:00:00")]),
        config_row(5, "8001237", PUNCHES, **{"No. of records": "99"}),
        config_row(6, "8001238", PUNCHES),
    ])
    f = parse_readouts(text)
    assert [r.card for r in f.readouts] == [8001234, 8001238]
    assert f.errors == [
        "line 4: column 'Finish time': '25:99:00' is not a time",
        "line 5: column 'SIID': 'abc' is not a card number",
        "line 6: column 'Record 1 CN': no control code",
        "line 7: column 'No. of records': 99 records but the header has 30",
    ]



def test_records_past_the_count_are_not_taken_but_said() -> None:
    """'No. of records' 2 with three records in the row: the card said two, so two are taken, and
    the third is named for the admin (a control the runner may have punched)."""
    text = "\n".join([";".join(CONFIG_HEADER), config_row(1, "8001234", PUNCHES, **{"No. of records": "2"})])
    f = parse_readouts(text)
    assert [p.code for p in f.readouts[0].punches] == ["31", "32"] and f.errors == []
    assert f.warnings == ["line 2: card 8001234: 1 more record(s) after the 2 that 'No. of records' gives: "
                          "not taken (check the card's punches)"]

def test_wrong_header_names_what_was_expected() -> None:
    with pytest.raises(ReadoutHeaderError) as exc:
        parse_readouts("Name;Club;Time\nAnna;OK Linné;12:00\n")
    message = str(exc.value)
    assert "SIID" in message and "Record 1 CN" in message and "1.CN" in message and "Name;Club;Time" in message
    with pytest.raises(ReadoutHeaderError, match="empty"):
        parse_readouts("\n\n")


def test_old_si_reader_header() -> None:
    values = {"No.": "7", "read at": "2025-06-01 11:45:10", "SI-Card": "501234", "ST_CN": "1", "ST_DOW": "SU",
              "start time": "11:00:00", "FI_CN": "2", "FI_DOW": "SU", "Finish time": "11:40:05",
              "CLR_CN": "3", "CLR_DOW": "SU", "clear time": "10:30:00", "No. of punches": "2"}
    line = row(SI_READER_HEADER, values, [("31", "SU", "11:05:00"), ("32", "SU", "11:15:30")])
    f = parse_readouts(";".join(SI_READER_HEADER) + "\r\n" + line + "\r\n")
    assert f.format is ReadoutFormat.SI_READER and f.errors == []
    r = f.readouts[0]
    assert r.card == 501234 and r.number == 7 and r.read_on == datetime(2025, 6, 1, 11, 45, 10)
    assert [p.code for p in r.punches] == ["31", "32"]
    assert r.clear == Punch("3", 10.5 * 3600) and r.start == Punch("1", 11 * 3600)
    assert not r.twelve_hour


def test_tolerates_bom_cp1252_extra_columns_and_no_count() -> None:
    header = "\ufeffSIID;Owner;Record 1 CN;Record 1 DOW;Record 1 time;Record 2 CN;Record 2 DOW;Record 2 time;Note"
    body = "8001234;Åsa Bråten;31;Mo;10:00:00;;;;x"
    f = parse_readouts((header + "\n" + body + "\n").encode("cp1252", errors="ignore"))
    assert f.errors == [] and f.readouts[0].punches == (Punch("31", 36000),)
    f8 = parse_readouts((header + "\n" + body).encode("utf-8-sig"))
    assert f8.readouts[0].punches == f.readouts[0].punches


def test_readout_key_is_stable_and_distinguishes() -> None:
    header = ";".join(CONFIG_HEADER)
    a = parse_readouts(header + "\n" + config_row(1, "8001234", PUNCHES)).readouts[0]
    again = parse_readouts(header + "\n\n" + config_row(9, "8001234", PUNCHES)).readouts[0]
    other = parse_readouts(header + "\n" + config_row(1, "8001234", PUNCHES[:2])).readouts[0]
    assert a.key == again.key  # another line and export number: the same readout
    assert a.key != other.key and len(a.key) == 32


def test_parse_time_of_day() -> None:
    assert parse_time_of_day("9:05:07") == 9 * 3600 + 307
    assert parse_time_of_day("23:59") == 23 * 3600 + 59 * 60
    assert parse_time_of_day("10:00:00,25") == 36000.25
    assert parse_time_of_day(" --:--:-- ") is None
    for bad in ("24:00:00", "12:60:00", "noon", "1:2:3"):
        with pytest.raises(ValueError):
            parse_time_of_day(bad)


# --- radio punches ------------------------------------------------------------------------------


def test_radio_semicolon_shape() -> None:
    text = "12;31;8001234;2025-06-01 11:05:00\n13;100;8001235;2025-06-01 11:06:30\n"
    res = parse_radio_punches(text, OSLO)
    assert res.shape is RadioShape.SEMICOLON and res.errors == []
    assert [(p.id, p.code, p.card) for p in res.punches] == [(12, "31", 8001234), (13, "100", 8001235)]
    assert res.punches[0].time == datetime(2025, 6, 1, 11, 5, tzinfo=OSLO).timestamp()


def test_radio_comma_shape_with_header() -> None:
    text = "id,card,epoch_ms,code,type\n5,8001234,1748768700000,31,1\n6,8001234,1748768760500,F1,\n"
    res = parse_radio_punches(text.encode(), OSLO)
    assert res.shape is RadioShape.COMMA and res.errors == []
    assert [(p.id, p.code, p.time, p.type) for p in res.punches] == [
        (5, "31", 1748768700.0, "1"), (6, "F1", 1748768760.5, ""),
    ]


def test_radio_garbage_lines_are_reported_not_fatal() -> None:
    text = "\n".join([
        "1;31;8001234;2025-06-01 11:05:00",
        "<html>oops</html>",
        "2;31;card;2025-06-01 11:05:00",
        "3;31;8001234;yesterday",
        "4,8001234,notms,31,1",
        "5;32;8001234;2025-06-01 11:09:00",
    ])
    res = parse_radio_punches(text, OSLO)
    assert [p.id for p in res.punches] == [1, 5]
    assert len(res.errors) == 4
    assert res.errors[0].startswith("line 2:") and res.errors[2].startswith("line 4:")
    assert "yesterday" in res.errors[2]


def test_max_punch_id() -> None:
    res = parse_radio_punches("7;31;1;2025-06-01 11:05:00\n3;31;1;2025-06-01 11:05:00", OSLO)
    assert max_punch_id(res.punches) == 7
    assert max_punch_id(res.punches, previous=10) == 10
    assert max_punch_id([], previous=None) is None
