"""Ranking a class: places, ties, status order, NotCompeting and the result list types."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from t4o_tui.orienteering.punch_check import Status
from t4o_tui.orienteering.ranking import STATUS_ORDER, ListType, ResultEntry, rank_class


def e(name: str, time: float | None, status: Status = Status.OK, nc: bool = False) -> ResultEntry:
    return ResultEntry(key=name, name=name, status=status, time=time, not_competing=nc)


def test_equal_times_share_a_place_and_the_next_is_skipped() -> None:
    rows = rank_class([e("D", 700), e("B", 650), e("A", 600), e("C", 650)])
    assert [(r.name, r.place) for r in rows] == [("A", 1), ("B", 2), ("C", 2), ("D", 4)]


def test_time_behind_the_winner() -> None:
    rows = rank_class([e("A", 600), e("B", 645), e("C", 900, Status.MISSING_PUNCH)])
    assert [r.behind for r in rows] == [0, 45, None]


def test_whole_seconds_are_compared_truncated() -> None:
    rows = rank_class([e("A", 61.9), e("B", 61.2), e("C", 62.0)])
    assert [(r.name, r.place) for r in rows] == [("A", 1), ("B", 1), ("C", 3)]
    assert rows[0].time == 61.9  # the time itself is kept as given


def test_status_order_after_ok() -> None:
    given_ = [
        e("dns", None, Status.DID_NOT_START),
        e("dsq", 500, Status.DISQUALIFIED),
        e("dnf", None, Status.DID_NOT_FINISH),
        e("mp", 400, Status.MISSING_PUNCH),
        e("ot", 9000, Status.OVER_TIME),
        e("ok", 800),
        e("running", None, Status.STARTED),
        e("inactive", None, Status.INACTIVE),
    ]
    rows = rank_class(given_)
    assert [r.name for r in rows] == ["ok", "ot", "mp", "dnf", "dsq", "dns", "running", "inactive"]
    assert [r.place for r in rows] == [1, None, None, None, None, None, None, None]


def test_every_status_has_a_position() -> None:
    rows = rank_class([e(s.value, None if s is not Status.OK else 1, s) for s in Status])
    assert {r.status for r in rows} == set(Status)
    assert rows[-1].status is Status.NOT_COMPETING  # without a time: last
    assert [r.status for r in rows[:-1]] == list(STATUS_ORDER)


def test_not_competing_shows_a_time_but_no_place() -> None:
    rows = rank_class([e("A", 600), e("NC", 550, nc=True), e("B", 650), e("X", 700, Status.NOT_COMPETING)])
    assert [(r.name, r.place, r.behind) for r in rows] == [
        ("NC", None, -50), ("A", 1, 0), ("B", 2, 50), ("X", None, 100),
    ]
    assert rows[0].not_competing and rows[0].time == 550


def test_not_competing_with_a_bad_status_goes_to_its_group() -> None:
    rows = rank_class([e("NC", 500, Status.MISSING_PUNCH, nc=True), e("A", 600)])
    assert [(r.name, r.place) for r in rows] == [("A", 1), ("NC", None)]


def test_unsorted_keeps_given_order_without_places() -> None:
    given_ = [e("C", 700), e("A", 600, Status.MISSING_PUNCH), e("B", 650)]
    rows = rank_class(given_, ListType.UNSORTED)
    assert [r.name for r in rows] == ["C", "A", "B"]
    assert all(r.place is None and r.behind is None for r in rows)
    assert [r.time for r in rows] == [700, 600, 650]


def test_no_times_drops_times_and_places() -> None:
    rows = rank_class([e("C", 700), e("A", 600)], ListType.NO_TIMES)
    assert [(r.name, r.time, r.place, r.behind) for r in rows] == [("C", None, None, None), ("A", None, None, None)]
    assert rows[0].status is Status.OK


def test_empty_class() -> None:
    assert rank_class([]) == []


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.sampled_from([Status.OK, Status.MISSING_PUNCH]),
                          st.booleans()), max_size=30))
def test_places_are_consistent(spec: list[tuple[int, Status, bool]]) -> None:
    entries = [e(f"r{i}", t, s, nc) for i, (t, s, nc) in enumerate(spec)]
    rows = rank_class(entries)
    assert sorted(r.name for r in rows) == sorted(x.name for x in entries)
    placed = [r for r in rows if r.place is not None]
    assert all(r.status is Status.OK and not r.not_competing for r in placed)
    assert [r.place for r in placed] == sorted(r.place for r in placed if r.place is not None)
    for n, r in enumerate(placed, start=1):
        # A place is one more than the count of strictly faster competing runners.
        faster = sum(1 for x in placed if x.time is not None and r.time is not None and x.time < r.time)
        assert r.place == faster + 1
        assert r.place <= n
