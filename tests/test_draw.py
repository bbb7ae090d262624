"""The draw: club separation, seeding, vacancies, redraw, late entries, reproducibility."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from t4o_tui.orienteering.draw import (
    ClassDraw,
    DrawClass,
    DrawEntry,
    DrawOptions,
    DrawStart,
    Seeding,
    VacancyPlacement,
    draw,
    draw_class,
)

FIRST, LAST, MIXED = VacancyPlacement.FIRST, VacancyPlacement.LAST, VacancyPlacement.MIXED


def make_class(clubs: Sequence[str | None], vacant: int = 0) -> DrawClass:
    entries = [DrawEntry(i, club=c) for i, c in enumerate(clubs)]
    starts = [DrawStart(1000 + k, k) for k in range(len(clubs) + vacant)]
    return DrawClass(1, entries, starts, name="H21")


def order(cls: DrawClass, result: ClassDraw) -> list[DrawEntry | None]:
    """Entries in start order after the draw (None: vacant)."""
    by_id = {e.id: e for e in cls.entries}
    starts = sorted(cls.starts, key=lambda s: s.order)
    return [by_id[eid] if (eid := result.links[s.id]) is not None else None for s in starts]


def neighbours(seq: list[DrawEntry | None]) -> int:
    return sum(
        1 for a, b in zip(seq, seq[1:], strict=False)
        if a is not None and b is not None and a.club is not None and a.club == b.club
    )


def contiguous_minimum(clubs: Sequence[object]) -> int:
    counts = Counter(c for c in clubs if c is not None)
    m = max(counts.values(), default=0)
    return max(0, 2 * m - len(clubs) - 1)


def run(cls: DrawClass, seed: int | str = 1, **kw: object) -> ClassDraw:
    return draw_class(cls, DrawOptions(seed=seed, **kw), seed)  # type: ignore[arg-type]


clubs_strategy = st.lists(st.sampled_from(["A", "B", "C", "D", None]), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(clubs=clubs_strategy, vacant=st.integers(0, 5), placement=st.sampled_from([FIRST, LAST]),
       seed=st.integers(0, 10**6))
def test_contiguous_draw_reaches_the_minimum(
    clubs: list[str | None], vacant: int, placement: VacancyPlacement, seed: int,
) -> None:
    # No neighbours at all whenever the largest club has at most ceil(n/2) runners.
    cls = make_class(clubs, vacant)
    result = run(cls, seed, vacancies=placement)
    seq = order(cls, result)
    assert result.neighbours == neighbours(seq) == contiguous_minimum(clubs)
    assert sorted(e.id for e in seq if e is not None) == list(range(len(clubs)))
    assert result.drawn == len(clubs) and result.vacancies == vacant


@settings(max_examples=100, deadline=None)
@given(clubs=clubs_strategy, vacant=st.integers(1, 6), seed=st.integers(0, 10**6))
def test_mixed_vacancies_never_worse_than_contiguous(
    clubs: list[str | None], vacant: int, seed: int,
) -> None:
    cls = make_class(clubs, vacant)
    result = run(cls, seed, vacancies=MIXED)
    assert result.neighbours == neighbours(order(cls, result)) <= contiguous_minimum(clubs)


def test_separation_impossible_reports_remaining_neighbours() -> None:
    cls = make_class(["A"] * 5 + ["B"])
    result = run(cls, vacancies=LAST)
    assert result.neighbours == 3  # A A B A A A is the best there is: 2·5 − 6 − 1
    assert any("3 same-club neighbours remain (A: 3)" in w for w in result.warnings)


def test_separation_possible_exactly_at_half() -> None:
    cls = make_class(["A"] * 6 + ["B", "C", "D", "E", "F"])  # 6 of 11 = ceil(11/2)
    for seed in range(20):
        seq = order(cls, run(cls, seed, vacancies=LAST))
        assert neighbours(seq) == 0
        assert [e.club if e else None for e in seq][::2] == ["A"] * 6


def test_entries_without_club_never_clash() -> None:
    cls = make_class([None] * 8)
    assert run(cls).neighbours == 0


def test_fixed_neighbours_are_avoided() -> None:
    # Starts 1 and 3 hold A-runners already; the late A-runner must take start 5: 0, 2 and 4
    # are next to an A.
    entries = [DrawEntry(1, "A", start=1001), DrawEntry(2, "A", start=1003), DrawEntry(3, "A"),
               DrawEntry(4, "B"), DrawEntry(5, "C"), DrawEntry(6, "D")]
    starts = [DrawStart(1000 + k, k) for k in range(6)]
    cls = DrawClass(1, entries, starts)
    for seed in range(30):
        result = run(cls, seed)
        assert result.neighbours == 0
        assert result.links[1001] == 1 and result.links[1003] == 2
        assert result.links[1005] == 3


@pytest.mark.parametrize("mode", [Seeding.HIGHEST_LAST, Seeding.LOWEST_LAST])
def test_seeding_order(mode: Seeding) -> None:
    rng = random.Random(5)
    seedings: list[float | None] = [None, None, None] + [rng.choice([1, 2, 3, 4]) for _ in range(17)]
    entries = [DrawEntry(i, club=rng.choice("ABC"), seeding=s) for i, s in enumerate(seedings)]
    starts = [DrawStart(100 + k, k) for k in range(20)]
    cls = DrawClass(1, entries, starts)
    seq = order(cls, run(cls, 3, seeding=mode))
    got = [e.seeding for e in seq if e is not None]
    assert got[:3] == [None, None, None]  # unseeded first
    values = [v for v in got[3:] if v is not None]
    assert values == sorted(values, reverse=mode == Seeding.LOWEST_LAST)


def test_equal_seeding_drawn_randomly_among_themselves() -> None:
    entries = [DrawEntry(i, seeding=1 if i < 10 else 2) for i in range(20)]
    cls = DrawClass(1, entries, [DrawStart(100 + k, k) for k in range(20)])
    orders = set()
    for seed in range(10):
        seq = order(cls, run(cls, seed, seeding=Seeding.HIGHEST_LAST))
        assert {e.id for e in seq[:10] if e} == set(range(10))  # the best last
        orders.add(tuple(e.id for e in seq if e))
    assert len(orders) == 10


def test_seeding_and_clubs_together() -> None:
    entries = [DrawEntry(i, club="AB"[i % 2], seeding=i // 4) for i in range(12)]
    cls = DrawClass(1, entries, [DrawStart(100 + k, k) for k in range(12)])
    seq = order(cls, run(cls, 9, seeding=Seeding.HIGHEST_LAST, vacancies=LAST))
    assert [e.seeding for e in seq if e] == sorted(e.seeding for e in entries)  # type: ignore[type-var]
    assert neighbours(seq) == 0


@pytest.mark.parametrize("placement", [FIRST, LAST, MIXED])
def test_vacancy_placement(placement: VacancyPlacement) -> None:
    cls = make_class(list("ABCDEFGH"), vacant=4)
    seen_patterns = set()
    for seed in range(8):
        result = run(cls, seed, vacancies=placement)
        pattern = tuple(e is None for e in order(cls, result))
        assert sum(pattern) == 4 == result.vacancies
        seen_patterns.add(pattern)
    if placement == FIRST:
        assert seen_patterns == {(True,) * 4 + (False,) * 8}
    elif placement == LAST:
        assert seen_patterns == {(False,) * 8 + (True,) * 4}
    else:
        assert len(seen_patterns) > 1


def test_reproducible_with_seed_and_independent_of_input_order() -> None:
    cls = make_class([random.Random(i).choice("ABCDE") for i in range(30)], vacant=3)
    a = run(cls, "spring-cup")
    shuffled = DrawClass(cls.id, list(reversed(cls.entries)), list(reversed(cls.starts)), cls.name)
    assert run(shuffled, "spring-cup").links == a.links
    assert run(cls, "other seed").links != a.links


def test_draw_reports_fresh_seed_that_repeats_the_draw() -> None:
    cls = make_class(list("AABBCCDDEE"))
    report = draw([cls])
    again = draw([cls], DrawOptions(seed=report.seed))
    assert again.classes[0].links == report.classes[0].links


def test_redraw_keeps_hand_set_starts() -> None:
    entries = [DrawEntry(i, club="ABCD"[i % 4], start=100 + i) for i in range(8)]
    starts = [DrawStart(100 + k, k, hand_set=k in (2, 5)) for k in range(10)]
    cls = DrawClass(1, entries, starts)
    kept = run(cls, 1)
    assert kept.assignments == [] and kept.drawn == 0  # nothing to do without redraw
    changed = 0
    for seed in range(5):
        result = run(cls, seed, redraw=True)
        assert result.links[102] == 2 and result.links[105] == 5
        assert sorted(e for e in result.links.values() if e is not None) == list(range(8))
        assert all(a.start_id not in (102, 105) for a in result.assignments)
        changed += len(result.assignments)
        assert result.drawn == 6
    assert changed > 0


def test_second_run_after_late_entries_only_fills_new_ones() -> None:
    cls = make_class(list("ABCABCAB"), vacant=4)
    first = run(cls, 1)
    current = {eid: sid for sid, eid in first.links.items() if eid is not None}
    late = [DrawEntry(100, "A"), DrawEntry(101, "D")]
    entries = [DrawEntry(e.id, e.club, start=current[e.id]) for e in cls.entries] + late
    second = run(DrawClass(1, entries, cls.starts), 2)
    for sid, eid in first.links.items():
        if eid is not None:
            assert second.links[sid] == eid
    assert {a.entry_id for a in second.assignments} == {100, 101}
    assert second.drawn == 2 and second.vacancies == 2


def test_more_entries_than_free_starts() -> None:
    cls = DrawClass(1, [DrawEntry(i) for i in range(5)], [DrawStart(1, 0), DrawStart(2, 1)])
    result = run(cls)
    assert result.drawn == 2 and len(result.without_start) == 3
    placed = {e for e in result.links.values() if e is not None}
    assert placed.isdisjoint(result.without_start)
    assert any("3 entries got no start, only 2 free starts" in w for w in result.warnings)


def test_invalid_input() -> None:
    starts = [DrawStart(1, 0), DrawStart(2, 1)]
    with pytest.raises(ValueError, match="same start"):
        run(DrawClass(1, [DrawEntry(1, start=1), DrawEntry(2, start=1)], starts))
    outside = run(DrawClass(1, [DrawEntry(1, start=99), DrawEntry(2)], starts))
    assert 1 not in outside.links.values() and any("outside" in w for w in outside.warnings)


def test_without_club_separation_is_a_plain_shuffle() -> None:
    cls = make_class(["A"] * 10)
    result = run(cls, separate_clubs=False)
    assert result.drawn == 10 and result.neighbours == 9


def test_every_place_is_equally_likely() -> None:
    # Fairness: with room to spare, each runner starts first about equally often.
    cls = make_class(list("AABBCCDE"))
    firsts = Counter(order(cls, run(cls, seed, vacancies=LAST))[0].id for seed in range(800))  # type: ignore[union-attr]
    assert len(firsts) == 8
    assert all(60 <= n <= 140 for n in firsts.values()), firsts


def test_large_class_is_fast_enough() -> None:
    rng = random.Random(0)
    cls = make_class([rng.choice([f"K{i}" for i in range(30)] + ["Big"] * 20) for _ in range(300)], 10)
    result = run(cls, 1, vacancies=MIXED)
    assert result.drawn == 300
    assert result.neighbours <= contiguous_minimum([e.club for e in cls.entries])


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_draw_invariants(data: st.DataObject) -> None:
    n_starts = data.draw(st.integers(0, 15))
    n_entries = data.draw(st.integers(0, 15))
    start_ids = list(range(100, 100 + n_starts))
    holders = data.draw(st.lists(st.sampled_from(start_ids), unique=True, max_size=n_entries)) \
        if start_ids else []
    entries = [
        DrawEntry(i, club=data.draw(st.sampled_from(["A", "B", None])),
                  seeding=data.draw(st.sampled_from([None, 1, 2])),
                  start=holders[i] if i < len(holders) else None)
        for i in range(n_entries)
    ]
    hand = set(data.draw(st.lists(st.sampled_from(start_ids), unique=True))) if start_ids else set()
    starts = [DrawStart(sid, k, hand_set=sid in hand) for k, sid in enumerate(start_ids)]
    options = DrawOptions(
        seed=data.draw(st.integers(0, 99)), redraw=data.draw(st.booleans()),
        seeding=data.draw(st.sampled_from(list(Seeding))),
        vacancies=data.draw(st.sampled_from(list(VacancyPlacement))),
    )
    cls = DrawClass(1, entries, starts)
    result = draw([cls], options).classes[0]
    before = {e.start: e.id for e in entries if e.start is not None}
    kept = {sid for sid in before if sid in hand or not options.redraw}
    assert all(result.links[sid] == before[sid] for sid in kept)
    placed = [e for e in result.links.values() if e is not None]
    assert len(placed) == len(set(placed))
    assert len(placed) == min(n_entries, n_starts)
    assert len(result.without_start) == n_entries - len(placed)
    seq = order(cls, result)
    assert result.neighbours == neighbours(seq)
    if options.seeding != Seeding.NONE:
        sign = 1 if options.seeding == Seeding.HIGHEST_LAST else -1
        drawn = {a.entry_id for a in result.assignments}
        keys = [(e.seeding is not None, sign * (e.seeding or 0)) for e in seq if e and e.id in drawn]
        assert keys == sorted(keys)


@st.composite
def big_class(draw_: st.DrawFn) -> list[str | None]:
    """Up to 600 runners of up to 40 clubs, skewed sizes (a few big clubs), some without a club."""
    n = draw_(st.integers(50, 600))
    n_clubs = draw_(st.integers(1, 40))
    skew = draw_(st.floats(0.0, 3.0))
    rng = random.Random(draw_(st.integers(0, 10**6)))
    weights = [1 / (1 + i) ** skew for i in range(n_clubs)]
    return [f"K{rng.choices(range(n_clubs), weights)[0]}" if rng.random() < 0.95 else None for _ in range(n)]


@settings(max_examples=40, deadline=None)
@given(clubs=big_class(), vacant=st.integers(0, 8), placement=st.sampled_from([FIRST, LAST]),
       seed=st.integers(0, 10**6))
def test_contiguous_draw_reaches_the_minimum_on_big_classes(
    clubs: list[str | None], vacant: int, placement: VacancyPlacement, seed: int,
) -> None:
    # The guarantee at championship size (the fast path: clubs bucketed by count).
    cls = make_class(clubs, vacant)
    result = run(cls, seed, vacancies=placement)
    seq = order(cls, result)
    assert result.neighbours == neighbours(seq) == contiguous_minimum(clubs)
    assert sorted(e.id for e in seq if e is not None) == list(range(len(clubs)))


@settings(max_examples=40, deadline=None)
@given(clubs=big_class(), vacant=st.integers(1, 12), seed=st.integers(0, 10**6))
def test_mixed_vacancies_on_big_classes_never_worse_than_contiguous(
    clubs: list[str | None], vacant: int, seed: int,
) -> None:
    cls = make_class(clubs, vacant)
    result = run(cls, seed, vacancies=MIXED)
    assert result.neighbours == neighbours(order(cls, result)) <= contiguous_minimum(clubs)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_each_place_takes_a_club_of_least_cost(data: st.DataObject) -> None:
    """The constructive step's choice (runs kept incrementally, clubs bucketed by count) is always a
    club of least cost as the plain definition computes it: _Bound evaluated for every club."""
    from t4o_tui.orienteering import draw as d

    length = data.draw(st.integers(1, 60))
    n_clubs = data.draw(st.integers(1, 8))
    rng = random.Random(data.draw(st.integers(0, 10**6)))
    seq: list[d.Token | None] = [None] * length
    fixed = set(rng.sample(range(length), rng.randint(0, length - 1)))
    for f in fixed:  # kept starts, some of them vacant
        if rng.random() < 0.7:
            seq[f] = ("club", rng.randrange(n_clubs))
    positions = sorted(set(range(length)) - fixed)
    weights = [rng.random() ** 3 for _ in range(n_clubs)]
    tokens: list[d.Token] = [("club", rng.choices(range(n_clubs), weights)[0]) if rng.random() < 0.9
                             else ("entry", i) for i in range(len(positions))]
    counts = Counter(tokens)
    clubs = d._Clubs(dict(counts))
    runs: list[tuple[int, int]] = []
    for p in positions:
        runs = runs[:-1] + [(runs[-1][0], p)] if runs and runs[-1][1] == p - 1 else runs + [(p, p)]
    later = d._Runs(seq)
    for a, b in runs[1:]:
        later.add(a, b, 1)
    done = 0
    for k, (start, end) in enumerate(runs):
        if k:
            later.add(start, end, -1)
        right = seq[end + 1] if end + 1 < length else None
        for pos in range(start, end + 1):
            prev = seq[pos - 1] if pos > 0 else None
            after = seq[pos + 1] if pos + 1 < length and pos + 1 not in positions else None
            bound = d._Bound(seq, positions[done + 1:], pos, counts)
            costs = {t: (t == prev) + (t == after) + bound.change_if_placed(t) for t in counts}
            tok = clubs.choose(rng, later, end - pos, right, prev, right if pos == end else None)
            assert costs[tok] == min(costs.values())
            seq[pos] = tok
            clubs.take(tok)
            counts[tok] -= 1
            counts += Counter()  # drop clubs placed in full
            done += 1
            assert dict(counts) == clubs.count

