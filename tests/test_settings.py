"""Typed job settings: parsing what admins type, checking stored values, clear messages."""

from __future__ import annotations

import pytest

from t4o_tui.engine.settings import Schema, Setting, SettingError
from t4o_tui.timefmt import format_duration_text, parse_duration_text

SCHEMA = Schema(
    (
        Setting("name", "text", "Name", required=True),
        Setting("count", "integer", "Count", default=3, min=1, max=10),
        Setting("ratio", "number", "Ratio", min=0, max=1),
        Setting("on", "boolean", "On", default=False),
        Setting("format", "choice", "Format", default="html", choices=(("html", "HTML"), ("csv", "CSV"))),
        Setting("classes", "multi-choice", "Classes", choices=(("H21", "H21"), ("D21", "D21"))),
        Setting("file", "file", "File"),
        Setting("when", "datetime", "When"),
        Setting("every", "duration", "Every", min=5, max=3600),
    )
)


def test_valid_text_is_parsed_to_typed_values(tmp_path):
    values = SCHEMA.parse_assignments(
        ["name=Late entries", "count=7", "ratio=0,5", "on=yes", "format=csv", "classes=H21,D21",
         f"file={tmp_path}/x.csv", "when=2026-06-01T10:00:00+02:00", "every=1m30s"]
    )
    assert values == {
        "name": "Late entries", "count": 7, "ratio": 0.5, "on": True, "format": "csv", "classes": ["H21", "D21"],
        "file": str(tmp_path / "x.csv"), "when": "2026-06-01T10:00:00+02:00", "every": 90.0,
    }
    clean, errors = SCHEMA.validate(values)
    assert errors == []
    assert clean["count"] == 7


@pytest.mark.parametrize(
    ("assignment", "key", "fragment"),
    [
        ("count=three", "count", "not a whole number"),
        ("count=1.5", "count", "not a whole number"),
        ("count=11", "count", "at most 10"),
        ("count=0", "count", "at least 1"),
        ("ratio=abc", "ratio", "'abc' is not a number"),
        ("ratio=nan", "ratio", "not a finite number"),
        ("ratio=2", "ratio", "at most 1"),
        ("on=maybe", "on", "not yes/no"),
        ("format=pdf", "format", "not one of: html, csv"),
        ("classes=H21,X", "classes", "'X' is not one of"),
        ("when=tomorrow", "when", "Invalid isoformat"),
        ("every=soon", "every", "not a duration"),
        ("every=2s", "every", "at least 5s"),
        ("every=2h", "every", "at most 1h"),
        ("nope=1", "nope", "unknown setting"),
        ("name=", "name", "is required"),
        ("count", "count", "expected key=value"),
    ],
)
def test_bad_values_name_the_setting(assignment, key, fragment):
    with pytest.raises(SettingError) as info:
        SCHEMA.parse_assignments([assignment])
    assert info.value.key == key
    assert fragment.lower() in str(info.value).lower()
    assert str(info.value).startswith(f"setting '{key}':")


def test_validate_reports_every_problem_and_fills_defaults():
    clean, errors = SCHEMA.validate({"count": 0, "format": "pdf", "bogus": 1})
    keys = sorted(e.key for e in errors)
    assert keys == ["bogus", "count", "format", "name"]
    clean, errors = SCHEMA.validate({"name": "x"})
    assert errors == []
    assert clean == {"name": "x", "count": 3, "on": False, "format": "html"}


def test_stored_values_of_the_wrong_type_are_refused():
    for key, value in [("count", "3"), ("count", True), ("on", "yes"), ("ratio", "0.5"), ("classes", "H21"), ("name", 5)]:
        _, errors = SCHEMA.validate({"name": "x", key: value})
        assert [e.key for e in errors] == [key], (key, value)


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("30s", 30), ("5m", 300), ("1h30m", 5400), ("1.5h", 5400), ("250ms", 0.25), ("2d", 172800)])
def test_durations(text, seconds):
    assert parse_duration_text(text) == pytest.approx(seconds)


def test_duration_round_trip():
    for s in (5, 90, 3600, 5400, 0.25):
        assert parse_duration_text(format_duration_text(s)) == pytest.approx(s)
    with pytest.raises(ValueError):
        parse_duration_text("5 minutes")
