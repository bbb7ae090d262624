"""The synthetic event generator: deterministic by seed, realistic and consistent, fast at 10 000 entries,
and its IOF XML files valid and read back unchanged."""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from iof_util import XSD, needs_iof

from t4o_tui.orienteering import synthetic
from t4o_tui.orienteering.iof_read import read_class_list, read_course_data, read_entry_list
from t4o_tui.orienteering.iof_write import (
    ClassResultOut,
    PersonResultOut,
    SplitOut,
    rank_results,
    validate,
    write_result_list,
)
from t4o_tui.orienteering.synthetic import (
    SyntheticEvent,
    class_list_xml,
    course_data_xml,
    entry_list_xml,
    late_entries,
    make_event,
    make_late_entries,
    rental_cards,
)


@pytest.fixture(scope="module")
def ev() -> SyntheticEvent:
    return make_event(seed=3, entries=2000)


def test_deterministic_by_seed() -> None:
    a, b = make_event(seed=5, entries=200), make_event(seed=5, entries=200)
    assert a == b
    assert entry_list_xml(a) == entry_list_xml(b)
    assert course_data_xml(a) == course_data_xml(b)
    assert make_event(seed=6, entries=200).entries != a.entries


def test_counts_and_shape(ev: SyntheticEvent) -> None:
    assert len(ev.entries) == 2000
    assert 10 <= len(ev.classes) <= 16
    assert 6 <= len(ev.courses) <= 10
    assert 30 <= len(ev.organisations) <= 60
    assert {c.name for c in ev.classes} >= {"H21", "D21", "H50", "D16", "H12", "Open"}
    per_class = Counter(e.class_names[0] for e in ev.entries)
    assert set(per_class) == {c.name for c in ev.classes}  # every class has entries at this size
    assert per_class["H21"] > per_class["D12"]  # weighted, not uniform
    assert len({e.organisation.name for e in ev.entries if e.organisation}) >= 30
    assert ev.event.first_start == datetime(2025, 6, 14, 10, 0, tzinfo=synthetic.DEFAULT_TZ)
    assert ev.event.date == date(2025, 6, 14)


def test_courses_are_realistic(ev: SyntheticEvent) -> None:
    codes = {c.code for c in ev.controls}
    for course in ev.courses:
        assert course.length is not None and 2000 <= course.length <= 12000
        assert course.climb is not None and 0 < course.climb < course.length * 0.05
        first, *middle, last = course.controls
        assert (first.code, first.type, last.code, last.type) == ("S1", "Start", "F1", "Finish")
        assert middle and all(c.type == "Control" and 31 <= int(c.code) <= 99 for c in middle)
        assert len({c.code for c in middle}) == len(middle)
        assert sum(c.leg_length or 0 for c in course.controls) == course.length
        assert all(c.leg_length and c.leg_length >= 40 for c in course.controls[1:])
        assert {c.code for c in course.controls} <= codes
    lengths = {c.name: c.length or 0 for c in ev.courses}
    assert lengths["A"] > lengths["B"] > lengths["C"] > lengths["F"]
    per_course = Counter(a.course_name for a in ev.assignments)
    assert len(ev.assignments) == len(ev.classes) and max(per_course.values()) > 1  # shared courses
    assert ev.course_for_class()["H21"].name == "A"


def test_ages_and_sex_match_the_class(ev: SyntheticEvent) -> None:
    classes = ev.class_by_name()
    sexes: Counter[str | None] = Counter()
    for e in ev.entries:
        cls = classes[e.class_names[0]]
        p = e.person
        assert p.birth_date is not None and p.birth_year == p.birth_date.year
        age = ev.race_year - p.birth_year
        assert cls.min_age is None or age >= cls.min_age, (cls.name, age)
        assert cls.max_age is None or age <= cls.max_age, (cls.name, age)
        assert cls.sex is None or p.sex == cls.sex
        assert 8 <= age <= 85
        sexes[p.sex] += 1
        assert p.given and p.family and p.nationality
    assert sexes["M"] > sexes["F"] > 0
    open_sexes = {e.person.sex for e in ev.entries if e.class_names == ("Open",)}
    assert open_sexes == {"M", "F"}


def test_ids_and_cards(ev: SyntheticEvent) -> None:
    person_ids = [e.person.ids[synthetic.ID_TYPE] for e in ev.entries]
    entry_ids = [e.entry_id for e in ev.entries]
    assert len(set(person_ids)) == len(person_ids) and len(set(entry_ids)) == len(entry_ids)
    assert all(i is not None and len(i) == 7 and i.isdigit() for i in entry_ids)
    cards = [c.number for e in ev.entries for c in e.cards]
    assert len(set(cards)) == len(cards)
    assert all(len(n) == 7 and n.isdigit() and n[0] != "0" for n in cards)
    assert all(len(e.cards) <= 1 for e in ev.entries)
    share = len(cards) / len(ev.entries)
    assert 0.80 <= share <= 0.90  # about 85 % own cards, the rest rent
    assert not set(rental_cards(200)) & set(cards)


def test_names_look_real(ev: SyntheticEvent) -> None:
    names = Counter(e.person.name for e in ev.entries)
    assert len(names) > 0.9 * len(ev.entries)  # a few namesakes, as in real lists
    families = Counter(e.person.family for e in ev.entries)
    assert len(families) > 200
    assert any("ø" in n or "å" in n or "æ" in n for n in families)
    clubs = {o.name for o in ev.organisations}
    assert all(o.short_name and o.country for o in ev.organisations)
    assert clubs & {"Kristiansand OK", "IL Tyrving", "Halden SK", "Bækkelagets SK", "Wing OK"}


def test_class_choices() -> None:
    assert [c.name for c in make_event(entries=10, classes=3).classes] == ["H21", "D21", "H18"]
    ev = make_event(entries=50, classes=["D21", "H40", "W10", "Sprint Open"])
    got = {c.name: (c.sex, c.min_age, c.max_age) for c in ev.classes}
    assert got == {
        "D21": ("F", 21, None),
        "H40": ("M", 40, None),
        "W10": ("F", None, 10),
        "Sprint Open": (None, None, None),
    }
    assert {a.class_name for a in ev.assignments} == set(got)
    with pytest.raises(ValueError):
        make_event(classes=0)
    with pytest.raises(ValueError):
        make_event(classes=[])


def test_first_start_and_time_zone() -> None:
    cest = timezone(timedelta(hours=2))
    first = datetime(2026, 8, 1, 11, 30, tzinfo=cest)
    ev = make_event(entries=5, first_start=first)
    assert ev.event.date == date(2026, 8, 1) and ev.event.first_start == first
    assert all(ev.race_year - (e.person.birth_year or 0) >= 0 for e in ev.entries)
    with pytest.raises(ValueError, match="timezone-aware"):
        make_event(first_start=datetime(2026, 8, 1, 11, 30))
    assert make_event(entries=0).entries == ()


@needs_iof
def test_xml_files_validate_and_read_back(ev: SyntheticEvent) -> None:
    entries_xml, classes_xml, courses_xml = entry_list_xml(ev), class_list_xml(ev), course_data_xml(ev)  # fmt: skip
    for xml in (entries_xml, classes_xml, courses_xml):
        assert validate(xml, XSD) == []
    entries = read_entry_list(entries_xml)
    assert (entries.event, entries.entries, entries.classes) == (ev.event, ev.entries, ev.classes)
    assert read_class_list(classes_xml).classes == ev.classes
    courses = read_course_data(courses_xml)
    assert (courses.controls, courses.courses, courses.assignments) == (
        ev.controls,
        ev.courses,
        ev.assignments,
    )
    assert courses.event == ev.event


def test_late_entries(ev: SyntheticEvent) -> None:
    late = make_late_entries(ev, 150, seed=2)
    assert len(late) == 150 and late == make_late_entries(ev, 150, seed=2)
    assert late != make_late_entries(ev, 150, seed=3)
    old_people = {e.person.ids[synthetic.ID_TYPE] for e in ev.entries}
    old_entries = {e.entry_id for e in ev.entries}
    old_cards = {c.number for e in ev.entries for c in e.cards}
    assert not {e.person.ids[synthetic.ID_TYPE] for e in late} & old_people
    assert not {e.entry_id for e in late} & old_entries
    assert not {c.number for e in late for c in e.cards} & old_cards
    assert {e.class_names[0] for e in late} <= {c.name for c in ev.classes}
    assert all(e.organisation in ev.organisations for e in late)
    doc = read_entry_list(late_entries(ev, 150, seed=2))
    assert doc.entries == late and doc.classes == ev.classes


@needs_iof
def test_late_entries_validate(ev: SyntheticEvent) -> None:
    assert validate(late_entries(ev, 30, seed=1), XSD) == []


def test_ten_thousand_entries_are_quick() -> None:
    t0 = time.perf_counter()
    big = make_event(seed=11, entries=10_000)
    generated = time.perf_counter() - t0
    xml = entry_list_xml(big)
    written = time.perf_counter() - t0 - generated
    print(f"10 000 entries: generated in {generated:.3f} s, EntryList written in {written:.3f} s")
    assert len(big.entries) == 10_000 and len(xml) > 1_000_000
    assert len({c.number for e in big.entries for c in e.cards}) > 8000
    assert generated < 2.0  # typically well under 0.2 s; generous for a loaded machine


@needs_iof
def test_result_list_of_a_whole_event_validates(ev: SyntheticEvent) -> None:
    # Plausible results for every entry, ranked per class: the writer holds up on a full event.
    rng = random.Random(1)
    courses = ev.course_for_class()
    first = ev.event.first_start
    assert first is not None
    out = []
    for cls in ev.classes:
        course = courses[cls.name]
        codes = [c.code for c in course.controls if c.type == "Control"]
        results = []
        for i, e in enumerate(x for x in ev.entries if x.class_names == (cls.name,)):
            start = first + timedelta(minutes=2 * i)
            status = rng.choices(["OK", "MissingPunch", "DidNotStart"], [90, 6, 4])[0]
            if status == "DidNotStart":
                results.append(PersonResultOut(e.person, status, e.organisation, start_time=start))
                continue
            pace = rng.uniform(300, 720) * (course.length or 0) / 1000
            splits = tuple(
                SplitOut(code, None, "Missing")
                if status == "MissingPunch" and k == 1
                else SplitOut(code, round(pace * (k + 1) / (len(codes) + 1)))
                for k, code in enumerate(codes)
            )
            time_ = round(pace)
            results.append(
                PersonResultOut(
                    e.person,
                    status,
                    e.organisation,
                    start_time=start,
                    finish_time=start + timedelta(seconds=time_),
                    time=time_,
                    splits=splits,
                    card=e.cards[0] if e.cards else None,
                    entry_id=e.entry_id,
                )
            )
        out.append(ClassResultOut(cls, rank_results(results), course))
    xml = write_result_list(
        ev.event,
        out,
        status="Snapshot",
        creator="t",
        create_time=datetime(2025, 6, 14, 16, 0, tzinfo=UTC),
    )
    assert validate(xml, XSD) == []
