"""Relay domain: forking, changeovers, restarts, team status, team/leg places, ties, bad teams.

Expectations are computed by hand in the comments (seconds after the mass start T0).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from t4o_tui.orienteering.punch_check import CardData, ControlKind, CourseControl, Punch, Status
from t4o_tui.orienteering.relay import (
    LegSettings,
    MemberData,
    ParallelRule,
    RelayClass,
    RelayError,
    Team,
    TeamMember,
    assign_forking_keys,
    check_teams,
    forking_balance,
    forking_problems,
    generate_forking,
    parse_forking_key,
    rank_relay,
    team_problems,
    time_team,
)

OSLO = ZoneInfo("Europe/Oslo")
T0 = datetime(2025, 6, 1, 10, 0, tzinfo=OSLO).timestamp()
RESTART = T0 + 5400  # 11:30


def rel(t: float | None) -> float | None:
    """An instant as seconds after the mass start."""
    return None if t is None else t - T0


def course(*codes: str) -> list[CourseControl]:
    return [CourseControl("S1", ControlKind.START), *(CourseControl(c) for c in codes),
            CourseControl("F1", ControlKind.FINISH)]


COURSES = {"L1": course("31", "32"), "L2": course("33", "34"), "L3": course("35", "36"),
           "A": course("31", "32"), "B": course("33", "34"), "C": course("35", "36")}
CODES = {name: [c.code for c in cs if c.kind is ControlKind.CONTROL] for name, cs in COURSES.items()}

CLS = RelayClass("H21", (LegSettings(("L1",)), LegSettings(("L2",), restart=RESTART),
                         LegSettings(("L3",), restart=RESTART)), mass_start=T0)


def card(course_name: str, start: float, finish: float | None, *, skip: str | None = None) -> MemberData:
    """A readout of a runner who left at T0+start and punched the finish at T0+finish."""
    end = finish if finish is not None else start + 600
    codes = CODES[course_name]
    step = (end - start) / (len(codes) + 1)
    punches = tuple(Punch(c, T0 + start + step * (i + 1)) for i, c in enumerate(codes) if c != skip)
    return MemberData(CardData(punches=punches,
                               finish=Punch("F1", T0 + finish) if finish is not None else None))


def team(bib: int, name: str, legs: tuple[int, ...] = (1, 2, 3)) -> Team:
    return Team(bib, name, str(bib), members=tuple(
        TeamMember(leg, name=f"{name} {leg}", card=f"{bib}0{leg}", key=f"{bib}-{leg}") for leg in legs))


def scenario() -> list:
    """Seven teams: the finishes (after T0) of legs 1, 2, 3; leg k starts at leg k-1's finish
    unless the 5400 restart came first."""
    out = []

    def run(t: Team, data: dict) -> None:
        out.append(time_team(CLS, t, {}, COURSES, data, zero_time=T0, tz=OSLO))

    # Alpha: 1800, 3700, 5500 -> legs 1800, 1900, 1800 = 5500
    run(team(1, "Alpha"), {(1, 1): card("L1", 0, 1800), (2, 1): card("L2", 1800, 3700),
                           (3, 1): card("L3", 3700, 5500)})
    # Bravo: mispunch on leg 2 (33 missing) -> team MP; leg 3 still 3600 -> 5300 = 1700
    run(team(2, "Bravo"), {(1, 1): card("L1", 0, 1750), (2, 1): card("L2", 1750, 3600, skip="33"),
                           (3, 1): card("L3", 3600, 5300)})
    # Charlie: 1900, 3800, 5400 -> 1900 + 1900 + 1600 = 5400, the winner
    run(team(3, "Charlie"), {(1, 1): card("L1", 0, 1900), (2, 1): card("L2", 1900, 3800),
                             (3, 1): card("L3", 3800, 5400)})
    # Delta: 1850, 3600, 5500 -> 1850 + 1750 + 1900 = 5500, ties Alpha
    run(team(4, "Delta"), {(1, 1): card("L1", 0, 1850), (2, 1): card("L2", 1850, 3600),
                           (3, 1): card("L3", 3600, 5500)})
    # Echo: no runner on leg 2 -> DNF; leg 3 restarts at 5400, finishes 7000 -> 1600
    run(team(5, "Echo", (1, 3)), {(1, 1): card("L1", 0, 1820), (3, 1): card("L3", 5400, 7000)})
    # Foxtrot: leg 2 in at 5600, after the restart: leg 3 left at 5400, in at 7200 -> 1800;
    # team 1900 + 3700 + 1800 = 7400
    run(team(6, "Foxtrot"), {(1, 1): card("L1", 0, 1900), (2, 1): card("L2", 1900, 5600),
                             (3, 1): card("L3", 5400, 7200)})
    # Golf: leg 1 did not start (override), nobody ran -> DNS
    run(team(7, "Golf"), {(1, 1): MemberData(override=Status.DID_NOT_START)})
    return out


def test_changeovers_restart_and_team_statuses() -> None:
    r = {t.team.name: t for t in scenario()}
    a = r["Alpha"]
    assert a.status is Status.OK and a.time == 5500
    assert [rel(leg.start) for leg in a.legs] == [0, 1800, 3700]
    assert [rel(leg.changeover) for leg in a.legs] == [1800, 3700, 5500]
    assert [leg.time for leg in a.legs] == [1800, 1900, 1800]
    assert [leg.overall_time for leg in a.legs] == [1800, 3700, 5500]

    b = r["Bravo"]
    assert b.status is Status.MISSING_PUNCH and b.time is None
    assert [leg.status for leg in b.legs] == [Status.OK, Status.MISSING_PUNCH, Status.OK]
    assert b.legs[1].members[0].punch is not None and b.legs[1].members[0].punch.missing == ("33",)
    # The changeover still happened at the MP runner's finish punch.
    assert rel(b.legs[2].start) == 3600 and b.legs[2].time == 1700
    assert [leg.overall_status for leg in b.legs] == [Status.OK, Status.MISSING_PUNCH, Status.MISSING_PUNCH]

    e = r["Echo"]
    assert e.status is Status.DID_NOT_FINISH and e.time is None
    assert e.legs[1].members == () and e.legs[1].status is Status.DID_NOT_START
    assert e.legs[2].restarted and e.legs[2].start == RESTART and e.legs[2].time == 1600
    assert any("leg 2: no runner" in m for m in e.messages)

    f = r["Foxtrot"]
    assert f.status is Status.OK
    assert f.legs[1].time == 3700 and not f.legs[1].restarted
    assert f.legs[2].restarted and f.legs[2].start == RESTART and f.legs[2].time == 1800
    assert f.time == 7400
    assert any("restart" in m for m in f.messages)

    assert r["Golf"].status is Status.DID_NOT_START


def test_team_places_ties_and_leg_places() -> None:
    ranking = rank_relay(scenario())
    rows = [(t.result.team.name, t.place, t.result.status.value, t.result.time, t.behind) for t in ranking.teams]
    assert rows == [
        ("Charlie", 1, "OK", 5400, 0),
        ("Alpha", 2, "OK", 5500, 100),
        ("Delta", 2, "OK", 5500, 100),  # tie: same place, by name
        ("Foxtrot", 4, "OK", 7400, 2000),  # the next place skipped
        ("Bravo", None, "MissingPunch", None, None),
        ("Echo", None, "DidNotFinish", None, None),
        ("Golf", None, "DidNotStart", None, None),
    ]
    by = {t.result.team.name: t for t in ranking.teams}
    # Leg 1: Bravo 1750, Alpha 1800, Echo 1820, Delta 1850, Charlie = Foxtrot 1900
    assert {n: by[n].legs[0].place for n in by} == {
        "Bravo": 1, "Alpha": 2, "Echo": 3, "Delta": 4, "Charlie": 5, "Foxtrot": 5, "Golf": None}
    # Leg 2: Delta 1750, Alpha = Charlie 1900, Foxtrot 3700; Bravo MP and Echo's empty leg: none
    assert {n: by[n].legs[1].place for n in by} == {
        "Delta": 1, "Alpha": 2, "Charlie": 2, "Foxtrot": 4, "Bravo": None, "Echo": None, "Golf": None}
    # Leg 3: Charlie = Echo 1600 (Echo's from the restart), Bravo 1700, Alpha = Foxtrot 1800, Delta 1900;
    # teams out of the ranking still get a leg place.
    assert {n: by[n].legs[2].place for n in by} == {
        "Charlie": 1, "Echo": 1, "Bravo": 3, "Alpha": 4, "Foxtrot": 4, "Delta": 6, "Golf": None}
    assert by["Delta"].legs[2].behind == 300


def test_changeover_order_for_the_speaker() -> None:
    ranking = rank_relay(scenario())
    after2 = [(t.result.team.name, t.legs[1].overall_place) for t in ranking.changeovers[2]]
    # Delta in at 3600, Alpha 3700, Charlie 3800, Foxtrot 5600; then MP, DNF, DNS
    assert after2 == [("Delta", 1), ("Alpha", 2), ("Charlie", 3), ("Foxtrot", 4),
                      ("Bravo", None), ("Echo", None), ("Golf", None)]
    after1 = [t.result.team.name for t in ranking.changeovers[1]]
    assert after1[:4] == ["Bravo", "Alpha", "Echo", "Delta"]


def test_same_inputs_same_result() -> None:
    assert scenario() == scenario()


def test_runner_still_out_and_finish_station_before_readout() -> None:
    t = team(1, "Alpha")
    data = {(1, 1): card("L1", 0, 1800), (2, 1): MemberData(seen=Status.FINISHED, finish_seen=T0 + 3700),
            (3, 1): MemberData(seen=Status.STARTED)}
    r = time_team(CLS, t, {}, COURSES, data, zero_time=T0, tz=OSLO)
    assert r.status is Status.FINISHED  # leg 2 in, not read out yet: nothing decided
    # The finish station gives the changeover: leg 3 started at 3700.
    assert rel(r.legs[2].start) == 3700
    r = time_team(CLS, t, {}, COURSES, {(1, 1): card("L1", 0, 1800)}, zero_time=T0, tz=OSLO)
    # Leg 2 went out at the changeover (Started); leg 3 has not started yet (Inactive).
    assert [leg.status for leg in r.legs] == [Status.OK, Status.STARTED, Status.INACTIVE]
    assert r.status is Status.STARTED and r.legs[0].overall_status is Status.OK
    r = time_team(CLS, t, {}, COURSES, {}, zero_time=T0, tz=OSLO)
    assert r.status is Status.INACTIVE


def test_leg_over_time_and_team_max_time() -> None:
    cls = RelayClass("H21", (LegSettings(("L1",), max_time=1000), LegSettings(("L2",))), mass_start=T0)
    t = team(1, "Alpha", (1, 2))
    r = time_team(cls, t, {}, COURSES, {(1, 1): card("L1", 0, 1200), (2, 1): card("L2", 1200, 2000)})
    assert r.status is Status.OVER_TIME and r.legs[0].status is Status.OVER_TIME
    cls = RelayClass("H21", (LegSettings(("L1",)), LegSettings(("L2",))), mass_start=T0, max_time=1900)
    r = time_team(cls, t, {}, COURSES, {(1, 1): card("L1", 0, 1200), (2, 1): card("L2", 1200, 2000)})
    assert r.status is Status.OVER_TIME and r.time == 2000


def test_previous_leg_without_finish_and_no_restart() -> None:
    cls = RelayClass("H21", (LegSettings(("L1",)), LegSettings(("L2",))), mass_start=T0)
    t = team(1, "Alpha", (1, 2))
    # Leg 1 has no finish punch (DNF); leg 2 went out and punched nothing for its start: no time.
    r = time_team(cls, t, {}, COURSES, {(1, 1): card("L1", 0, None), (2, 1): card("L2", 1500, 2500)})
    assert r.legs[0].status is Status.DID_NOT_FINISH
    assert r.legs[1].start is None and r.legs[1].time is None and r.legs[1].status is Status.FINISHED
    assert r.status is Status.DID_NOT_FINISH


def test_disqualified_leg_wins_over_an_earlier_mp() -> None:
    t = team(1, "Alpha")
    data = {(1, 1): card("L1", 0, 1800, skip="31"), (2, 1): card("L2", 1800, 3700),
            (3, 1): MemberData(override=Status.DISQUALIFIED)}
    assert time_team(CLS, t, {}, COURSES, data).status is Status.DISQUALIFIED


@pytest.mark.parametrize(("rule", "changeover", "status"), [
    (ParallelRule.ALL, 2000, Status.OK),  # the last of the two in
    (ParallelRule.FIRST, 1700, Status.OK),  # the fastest OK runner exchanges
])
def test_parallel_runners(rule: ParallelRule, changeover: float, status: Status) -> None:
    cls = RelayClass("Mix", (LegSettings(("L1",)), LegSettings(("L2",), runners=2, parallel=rule),
                             LegSettings(("L3",))), mass_start=T0)
    t = Team(1, "Para", "1", members=(TeamMember(1, card="a"), TeamMember(2, 1, card="b"),
                                      TeamMember(2, 2, card="c"), TeamMember(3, card="d")))
    data = {(1, 1): card("L1", 0, 1000), (2, 1): card("L2", 1000, 2000), (2, 2): card("L2", 1000, 1700),
            (3, 1): card("L3", changeover, changeover + 900)}
    r = time_team(cls, t, {}, COURSES, data)
    assert r.legs[1].status is status and rel(r.legs[1].changeover) == changeover
    assert rel(r.legs[2].start) == changeover and r.time == changeover + 900
    # One parallel runner with a missing punch: ALL makes the leg MP; FIRST lets the other exchange.
    data[(2, 2)] = card("L2", 1000, 1700, skip="34")
    r = time_team(cls, t, {}, COURSES, data)
    if rule is ParallelRule.ALL:
        assert r.status is Status.MISSING_PUNCH
    else:
        assert r.legs[1].status is Status.OK and rel(r.legs[1].changeover) == 2000


# --- forking --------------------------------------------------------------------------------------

FORKED = RelayClass("D21", tuple(LegSettings(("A", "B", "C")) for _ in range(3)), mass_start=T0)


def test_generated_forking_is_fair() -> None:
    forks = generate_forking(FORKED, 12)
    # Every team covers A, B and C once across its three legs.
    for f in forks:
        assert sorted(f.values()) == ["A", "B", "C"]
    assert forking_problems(FORKED, [(str(i), f) for i, f in enumerate(forks)]) == []
    # Every 3 consecutive teams put each course once on each leg.
    for block in range(4):
        for leg in (1, 2, 3):
            assert sorted(f[(leg, 1)] for f in forks[block * 3:block * 3 + 3]) == ["A", "B", "C"]
    # Over 12 teams every leg runs each course 4 times, and two bases make 6 different keys.
    assert all(c == Counter({"A": 4, "B": 4, "C": 4}) for c in forking_balance(FORKED, forks).values())
    assert len({tuple(f.values()) for f in forks}) == 6


def test_generated_forking_seed_is_reproducible_and_still_fair() -> None:
    a, b = generate_forking(FORKED, 9, seed=7), generate_forking(FORKED, 9, seed=7)
    assert a == b
    assert forking_problems(FORKED, [(str(i), f) for i, f in enumerate(a)]) == []
    assert {tuple(f.values()) for f in generate_forking(FORKED, 6, seed=1)} != set() and \
        any(generate_forking(FORKED, 6, seed=s) != generate_forking(FORKED, 6) for s in range(5))


def test_forking_groups_like_the_iof_example() -> None:
    # IOF CourseData_Relay: legs 1 and 3 run family 'Open long' (A, B), leg 2 'Open short' (C)
    # by up to three parallel runners.
    cls = RelayClass("Men Open", (LegSettings(("A", "B")), LegSettings(("C",), runners=3),
                                  LegSettings(("A", "B"))))
    forks = generate_forking(cls, 4)
    assert [(f[(1, 1)], f[(3, 1)]) for f in forks] == [("A", "B"), ("B", "A"), ("A", "B"), ("B", "A")]
    assert all(f[(2, k)] == "C" for f in forks for k in (1, 2, 3))


def test_given_forking_keys() -> None:
    forks = assign_forking_keys(FORKED, 4, ["ABC", "BCA", "CAB"])
    assert [("".join(f.values())) for f in forks] == ["ABC", "BCA", "CAB", "ABC"]
    assert parse_forking_key(FORKED, "A, C, B") == {(1, 1): "A", (2, 1): "C", (3, 1): "B"}
    with pytest.raises(RelayError, match="leg 3: course 'D' of forking key 'ABD'"):
        parse_forking_key(FORKED, "ABD")
    with pytest.raises(RelayError, match="2 courses, the class has 3"):
        parse_forking_key(FORKED, "AB")
    unfair = assign_forking_keys(FORKED, 2, ["AAB", "ABC"])
    problems = forking_problems(FORKED, [("team 'X' (bib 1)", unfair[0]), ("team 'Y' (bib 2)", unfair[1])])
    assert problems == ["team 'X' (bib 1): legs 1, 2, 3 run A×2, B×1, C×0, not each variant equally often"]


def test_forked_team_is_checked_on_its_own_courses() -> None:
    fork = {(1, 1): "B", (2, 1): "C", (3, 1): "A"}
    t = team(1, "Alpha")
    data = {(1, 1): card("B", 0, 1000), (2, 1): card("C", 1000, 2000), (3, 1): card("A", 2000, 3000)}
    assert time_team(FORKED, t, fork, COURSES, data).status is Status.OK
    # The same cards against another team's key: each leg misses its controls.
    r = time_team(FORKED, t, {(1, 1): "A", (2, 1): "B", (3, 1): "C"}, COURSES, data)
    assert [leg.status for leg in r.legs] == [Status.MISSING_PUNCH] * 3


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5), st.integers(1, 6), st.integers(1, 30), st.one_of(st.none(), st.integers(0, 99)))
def test_forking_fair_for_any_size(variants: int, legs: int, teams: int, seed: int | None) -> None:
    pool = tuple("ABCDE"[:variants])
    cls = RelayClass("X", tuple(LegSettings(pool) for _ in range(legs)))
    forks = generate_forking(cls, teams, seed=seed)
    assert forking_problems(cls, [(str(i), f) for i, f in enumerate(forks)]) == []
    if legs <= variants:  # no variant twice in one team
        assert all(len(set(f.values())) == legs for f in forks)


# --- bad teams -----------------------------------------------------------------------------------


def test_bad_team_input_is_named_by_team_and_leg() -> None:
    t = Team(9, "Forest Vagabonds 1", "12", members=(
        TeamMember(1, name="A", card="100", key="a"), TeamMember(2, name="B", card="100", key="b"),
        TeamMember(4, name="C", card="300", key="c"), TeamMember(3, 2, name="D", card="400", key="d")))
    p = team_problems(CLS, t)
    assert p.errors == (
        "team 'Forest Vagabonds 1' (bib 12): leg 4 but class 'H21' has 3 legs",
        "team 'Forest Vagabonds 1' (bib 12) leg 3: runner 2 but the leg allows 1 runner",
        "team 'Forest Vagabonds 1' (bib 12) leg 2: card 100 is already used on leg 1 of the team",
    )
    assert p.warnings == ("team 'Forest Vagabonds 1' (bib 12) leg 3: no runner",)


def test_one_runner_on_two_legs_only_where_the_class_allows() -> None:
    t = Team(1, "Solo", "1", members=(TeamMember(1, key="p", card="1"), TeamMember(2, key="p", card="2")))
    cls = RelayClass("Two", (LegSettings(("L1",)), LegSettings(("L2",))))
    assert "allows one leg per runner" in team_problems(cls, t).errors[0]
    cls = RelayClass("Two", (LegSettings(("L1",)), LegSettings(("L2",))), several_legs_per_runner=True)
    assert team_problems(cls, t).errors == ()


def test_class_and_cross_team_problems() -> None:
    cls = RelayClass("H21", (LegSettings(("L1",)), LegSettings(())))
    teams = [Team(1, "A", "1", members=(TeamMember(1, card="5"), TeamMember(2, card="6"))),
             Team(2, "B", "1", members=(TeamMember(1, card="5"), TeamMember(2, card="7")))]
    p = check_teams(cls, teams)
    assert "class 'H21' leg 2: no course" in p.warnings
    assert "team 'B' (bib 1): bib 1 is also team 'A' (bib 1)'s" in p.errors
    assert "team 'B' (bib 1) leg 1: card 5 is also used by team 'A' (bib 1)" in p.warnings
    # Timing a leg with no course: the runner's result says so, naming the leg.
    r = time_team(cls, teams[0], {}, COURSES, {(1, 1): card("L1", 0, 100), (2, 1): card("L2", 100, 200)})
    assert r.legs[1].status is Status.MISSING_PUNCH
    assert "team 'A' (bib 1) leg 2: no course" in r.messages


def test_teams_still_out_in_live_order_after_the_finished_ones() -> None:
    def run(bib: int, name: str, finishes: list[float]) -> object:
        data = {(i, 1): card(f"L{i}", ([0, *finishes])[i - 1], f) for i, f in enumerate(finishes, 1)}
        return time_team(CLS, team(bib, name), {}, COURSES, data)

    teams = [run(1, "Ann", [1800]), run(2, "Bea", [1700, 3500]), run(3, "Cid", [1600]), run(4, "Dag", [1500, 3000, 4500]),
             time_team(CLS, team(5, "Eli"), {}, COURSES, {(1, 1): card("L1", 0, 1000, skip="31")})]
    order = [(t.result.team.name, t.result.status.value, t.place) for t in rank_relay(teams).teams]
    # Dag finished (placed); Bea is out on leg 3 after two legs; Cid and Ann on leg 2 by their leg 1; Eli MP.
    assert order == [("Dag", "OK", 1), ("Bea", "Started", None), ("Cid", "Started", None), ("Ann", "Started", None),
                     ("Eli", "MissingPunch", None)]
