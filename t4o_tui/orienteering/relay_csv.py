"""CSV (or .xlsx) team entries: one row per runner, rows of one team grouped by team.

Columns (header titles, any order, unknown ones ignored, as the entry tables): TEAM NAME,
TEAM IDENTIFIER[:type], BIB NO, ORGANISATION NAME (the team's club; a row's club for that runner
when the team is a combination), CLASS NAME, LEG (2, 2.1 or 2b for the runners of a parallel leg),
PERSON NAME or PERSON FIRST NAME + PERSON LAST NAME, PERSON IDENTIFIER[:type], CARD NO[:type],
COURSE NAME (a runner's course, winning over the forking).

Rows belong to the same team when they share TEAM IDENTIFIER, else CLASS NAME and TEAM NAME.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from t4o_tui.orienteering.entry_table import Problem, TableError, parse_text, read_table
from t4o_tui.orienteering.iof_relay import TeamMemberRecord, TeamRecord, parse_leg_text
from t4o_tui.orienteering.model import Card, Course, Organisation, Person
from t4o_tui.orienteering.xmlsafe import IofError

TEAM_COLUMNS: dict[str, bool] = {
    "TEAM NAME": False,
    "TEAM IDENTIFIER": True,
    "BIB NO": False,
    "ORGANISATION NAME": False,
    "CLASS NAME": False,
    "LEG": False,
    "PERSON NAME": False,
    "PERSON FIRST NAME": False,
    "PERSON LAST NAME": False,
    "PERSON IDENTIFIER": True,
    "CARD NO": True,
    "COURSE NAME": False,
}


@dataclass
class _Building:
    record: TeamRecord
    members: list[TeamMemberRecord] = field(default_factory=list)
    clubs: list[str] = field(default_factory=list)


def read_team_csv(data: bytes) -> tuple[list[TeamRecord], list[str]]:
    """(teams in file order, warnings); a TableError lists every bad cell by line and column."""
    table = read_table(data, TEAM_COLUMNS)
    cols = {c.title: c for c in table.columns}
    for need in ("TEAM NAME", "LEG"):
        if need not in cols:
            raise TableError([Problem(f"column {need} is missing: a team entry needs it", 1)])
    if not ({"PERSON NAME", "PERSON FIRST NAME", "PERSON LAST NAME", "CARD NO"} & set(cols)):
        raise TableError([Problem("no runner column: give PERSON NAME (or FIRST/LAST NAME) or CARD NO", 1)])
    problems: list[Problem] = []
    teams: dict[tuple[str, ...], _Building] = {}

    def cell(row: list[object], title: str) -> str:
        c = cols.get(title)
        return parse_text(row[c.index]) if c is not None and c.index < len(row) else ""

    for line, row in table.rows:
        if all(parse_text(v) == "" for v in row):
            continue
        name = cell(row, "TEAM NAME")
        if not name:
            problems.append(Problem("no team name", line, "TEAM NAME", table.unit))
            continue
        leg_text = cell(row, "LEG")
        if not leg_text:
            problems.append(Problem(f"team {name!r}: no leg", line, "LEG", table.unit))
            continue
        try:
            leg, order = parse_leg_text(leg_text, line)
        except IofError as exc:
            problems.append(Problem(str(exc.args[0]) if exc.args else str(exc), line, "LEG", table.unit))
            continue
        team_id, klass = cell(row, "TEAM IDENTIFIER"), cell(row, "CLASS NAME")
        key = ("id", team_id) if team_id else ("name", klass.casefold(), name.casefold())
        club = cell(row, "ORGANISATION NAME")
        b = teams.get(key)
        if b is None:
            id_col = cols.get("TEAM IDENTIFIER")
            b = teams[key] = _Building(TeamRecord(
                name=name, class_name=klass or None, bib=cell(row, "BIB NO") or None, entry_id=team_id or None,
                entry_id_type=id_col.argument if id_col is not None else None, line=line))
        elif klass and b.record.class_name and klass.casefold() != b.record.class_name.casefold():
            problems.append(Problem(f"team {name!r}: class {klass!r} here, {b.record.class_name!r} on line "
                                    f"{b.record.line}", line, "CLASS NAME", table.unit))
            continue
        if club and club not in b.clubs:
            b.clubs.append(club)
        given, family = cell(row, "PERSON FIRST NAME"), cell(row, "PERSON LAST NAME")
        full = cell(row, "PERSON NAME")
        if full and not (given or family):
            given, _, family = full.rpartition(" ") if " " in full else ("", "", full)
        pid_col = cols.get("PERSON IDENTIFIER")
        pid = cell(row, "PERSON IDENTIFIER")
        person = Person(given, family, ids={(pid_col.argument or "") if pid_col else "": pid} if pid else {}) \
            if (given or family) else None
        card_col = cols.get("CARD NO")
        card = cell(row, "CARD NO")
        course = cell(row, "COURSE NAME")
        b.members.append(TeamMemberRecord(
            person=person, organisation=Organisation(club) if club else None, leg=leg, leg_order=order,
            cards=(Card(card, card_col.argument if card_col else None),) if card and card.strip("0") else (),
            course=Course(course) if course else None, line=line))
    if problems:
        raise TableError(problems)
    out = []
    for b in teams.values():
        # A runner's own club is kept only where the team is a combination of clubs.
        combo = len(b.clubs) > 1
        members = tuple(m if combo else replace(m, organisation=None) for m in b.members)
        out.append(replace(b.record, organisations=tuple(Organisation(c) for c in b.clubs), members=members))
    return out, list(table.warnings)
