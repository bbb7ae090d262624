"""The CLI's event setup commands: `event show|set`, `race add|set|list|delete`, `class list|set`.

Kept apart from cli.py (which hooks these in) so that each command group stays readable. The work
is done by engine.event_setup; here options become its fields and its SetupError a one-line error
that names the option.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from t4o_tui.cli_common import EXIT_OK, CliError, open_db, print_table

# Options whose value may start with '-' (a negative interval must reach the check, which says
# what is wrong, instead of argparse taking it for an option).
SIGNED_OPTIONS = ("--start-interval", "--interval", "--max-time", "--vacancies", "--vacancies-before",
                  "--vacancies-after", "--vacancy-every", "--bib-start", "--draw-order", "--first-start")

_CLASS_OPTIONS = {
    "first_start": ("--first-start", "TIME", "HH:MM[:SS] on the race's date (the next day's soon after midnight, when before the race's first start), or +30m after it"),
    "start_interval": ("--start-interval", "DURATION", "e.g. 2m, 90s (also --interval)"),
    "bib_start": ("--bib-start", "N", "first bib of the class's series"),
    "vacancies": ("--vacancies", "N", "vacant starts the draw places (first/last/mixed)"),
    "vacancies_before": ("--vacancies-before", "N", "vacant starts before the first runner"),
    "vacancies_after": ("--vacancies-after", "N", "vacant starts after the last runner"),
    "vacancy_every": ("--vacancy-every", "N", "one vacant start after every N runners (0: none)"),
    "max_time": ("--max-time", "DURATION", "e.g. 2h"),
    "draw_method": ("--draw-method", "METHOD", "random, club-separation, seeded-highest-last, seeded-lowest-last"),
    "draw_order": ("--draw-order", "N", "order of the classes on one course or start box"),
    "start_box": ("--start-box", "NAME", "classes in one start box share the interval grid"),
    "course": ("--course", "NAME", "a course of the race"),
    "start_type": ("--start-type", "TYPE", "interval, mass or free"),
}
_RACE_OPTIONS = {
    "name": ("--name", "NAME", "the race's name"),
    "date": ("--date", "YYYY-MM-DD", "the race's date (moves its times along, keeping the clock)"),
    "first_start": ("--first-start", "TIME", "HH:MM[:SS] on the race's date, or YYYY-MM-DDTHH:MM"),
    "discipline": ("--discipline", "KIND", "sprint, middle, long, ultralong, night, relay, other"),
    "number": ("--number", "N", "the race (stage) number"),
}
_EVENT_OPTIONS = {
    "name": ("--name", "NAME", "the event's name"),
    "timezone": ("--timezone", "ZONE", "IANA time zone, e.g. Europe/Oslo (also --tz)"),
    "organiser": ("--organiser", "NAME", "the organising club"),
    "time_resolution": ("--time-resolution", "SECONDS", "1 (default) or 0.1: results ranked and written to tenths"),
}


def add_parsers(sub: Any, common: argparse.ArgumentParser, parser_class: type[argparse.ArgumentParser]) -> None:
    ev = sub.add_parser("event", parents=[common], help="the event: name, time zone, organiser")
    esub = ev.add_subparsers(dest="event_command", metavar="ACTION", required=True, parser_class=parser_class)
    s = esub.add_parser("show", parents=[common], help="the event and its races")
    s.add_argument("--json", action="store_true")
    s = esub.add_parser("set", parents=[common], help="change the event's name, time zone or organiser")
    _options(s, _EVENT_OPTIONS)
    s.add_argument("--tz", dest="timezone", metavar="ZONE", default=None, help=argparse.SUPPRESS)
    s.add_argument("--json", action="store_true")

    race = sub.add_parser("race", parents=[common], help="add, change, list or delete the event's races (stages)")
    rsub = race.add_subparsers(dest="race_command", metavar="ACTION", required=True, parser_class=parser_class)
    s = rsub.add_parser("list", parents=[common], help="the races")
    s.add_argument("--json", action="store_true")
    s = rsub.add_parser("add", parents=[common], help="add a race (the next number unless --number)")
    s.add_argument("name")
    _options(s, {k: v for k, v in _RACE_OPTIONS.items() if k != "name"})
    s.add_argument("--json", action="store_true")
    s = rsub.add_parser("set", parents=[common], help="change a race (a new date moves its times along)")
    s.add_argument("race", help="race number or name")
    _options(s, _RACE_OPTIONS)
    s.add_argument("--json", action="store_true")
    s = rsub.add_parser("delete", parents=[common], help="delete a race and everything in it")
    s.add_argument("race", help="race number or name")
    s.add_argument("--force", action="store_true", help="also when it holds entries, starts or station data")

    cls = sub.add_parser("class", parents=[common], help="class timing per race: first start, interval, bibs, vacancies…")
    csub = cls.add_subparsers(dest="class_command", metavar="ACTION", required=True, parser_class=parser_class)
    s = csub.add_parser("list", parents=[common], help="a race's classes with their timing")
    s.add_argument("--race", metavar="RACE", help="race number or name (default: the only race)")
    s.add_argument("--json", action="store_true")
    s = csub.add_parser("set", parents=[common], help="change class timing; an empty value clears it")
    s.add_argument("classes", nargs="+", metavar="CLASS", help="class name(s); all are checked before any is saved")
    s.add_argument("--race", metavar="RACE", help="race number or name (default: the only race)")
    _options(s, _CLASS_OPTIONS)
    s.add_argument("--interval", dest="start_interval", metavar="DURATION", default=None, help=argparse.SUPPRESS)
    s.add_argument("--json", action="store_true")


def _options(p: argparse.ArgumentParser, options: dict[str, tuple[str, str, str]]) -> None:
    for key, (flag, metavar, text) in options.items():
        p.add_argument(flag, dest=key, metavar=metavar, default=None, help=text)


def _changes(args: argparse.Namespace, options: dict[str, tuple[str, str, str]]) -> dict[str, str]:
    return {k: getattr(args, k) for k in options if getattr(args, k, None) is not None}


def _error(exc: Exception, what: str, options: dict[str, tuple[str, str, str]]) -> Exception:

    field = getattr(exc, "field", "")
    message = getattr(exc, "message", str(exc))
    flag = "--race" if field == "race" and what.startswith("class") else options.get(field, (field,))[0]
    where = f"{flag}: " if flag else ""  # a missing race or class: the message names it already
    return CliError(f"{what} not saved: {where}{message}" if what else f"{where}{message}")


# -- commands ---------------------------------------------------------------------------------------


def cmd_event(args: argparse.Namespace) -> int:
    from t4o_tui.engine import event_setup as es

    _, db = open_db(args)
    if args.event_command == "set":
        changes = _changes(args, _EVENT_OPTIONS)
        if not changes:
            raise CliError("nothing to change (give --name, --timezone, --organiser or --time-resolution)")
        try:
            es.set_event(db, changes)
        except es.SetupError as exc:
            raise _error(exc, "event", _EVENT_OPTIONS) from None
        if not args.json:
            print("event saved")
    ev = es.get_event(db)
    races = es.list_races(db)
    if getattr(args, "json", False):
        print(json.dumps({**ev.as_json(), "races": [r.as_json() for r in races]}, indent=2))
        return EXIT_OK
    print(f"event      {ev.name or '(not set: t4o-tui event set --name NAME)'}")
    print(f"time zone  {ev.timezone}")
    print(f"organiser  {ev.organiser or '-'}")
    print(f"timing to  {'tenths of a second' if ev.time_resolution < 1 else 'whole seconds'}")
    print(f"races      {len(races)}")
    for r in races:
        print(f"  {r.number}  {r.name}  {r.date or 'no date'}  first start {r.first_start_text() or '-'}  "
              f"{r.discipline or ''}".rstrip())
    return EXIT_OK


def _race_rows(races: list[Any]) -> None:

    print_table([[str(r.number), r.name, r.date or "-", r.first_start_text() or "-", r.discipline or "-",
                   str(r.classes), str(r.entries), str(r.starts)] for r in races],
                 ["NO", "NAME", "DATE", "FIRST START", "DISCIPLINE", "CLASSES", "ENTRIES", "STARTS"])


def cmd_race(args: argparse.Namespace) -> int:
    from t4o_tui.engine import event_setup as es

    _, db = open_db(args)
    action = args.race_command
    try:
        if action == "list":
            races = es.list_races(db)
            if args.json:
                print(json.dumps([r.as_json() for r in races], indent=2))
            else:
                _race_rows(races)
            return EXIT_OK
        if action == "delete":
            gone = es.delete_race(db, args.race, force=args.force)
            print(f"race {gone.label} deleted")
            _tasks_naming(gone.number)
            return EXIT_OK
        if action == "add":
            info = es.add_race(db, args.name, _changes(args, _RACE_OPTIONS))
            what = "added"
        else:
            changes = _changes(args, _RACE_OPTIONS)
            if not changes:
                raise CliError("nothing to change (give --name, --date, --first-start, --discipline or --number)")
            info = es.set_race(db, args.race, changes)
            what = "saved"
    except es.SetupError as exc:
        raise _error(exc, "" if action in ("list", "delete") else "race", {**_RACE_OPTIONS, "race": ("", "", "")}) from None
    if args.json:
        print(json.dumps(info.as_json(), indent=2))
    else:
        print(f"race {info.label} {what}: {info.date or 'no date'}, first start {info.first_start_text() or '-'}"
              + (f", {info.discipline}" if info.discipline else ""))
    return EXIT_OK


def _tasks_naming(number: int) -> None:
    """Tasks whose settings name a deleted race would fail at their next run: say which, once."""
    import sys

    from t4o_tui.store.models import Task

    named = [t.name for t in Task.select() if (t.settings or {}).get("race") == number]
    if named:
        print(f"t4o-tui: note: tasks naming race {number} will fail until changed: {', '.join(sorted(named))}",
              file=sys.stderr)


def _class_json(c: Any, race: Any) -> dict[str, Any]:
    return {**c.as_json(), "race": race.race_number or race.id}


def cmd_class(args: argparse.Namespace) -> int:
    from t4o_tui.engine import event_setup as es

    _, db = open_db(args)
    options = {**_CLASS_OPTIONS, "race": ("--race", "", ""), "class": ("", "", "")}
    try:
        race = es.find_race(args.race)
        if args.class_command == "list":
            classes = es.list_classes(db, race.id)
            if args.json:
                print(json.dumps([_class_json(c, race) for c in classes], indent=2))
                return EXIT_OK
            print_table([[c.name, c.course or "-", c.start_type, c.text("first_start") or "-",
                           c.text("start_interval") or "-", _bibs(c), _vacant(c), c.text("max_time") or "-",
                           c.draw_method or "-", c.start_box or "-", str(c.entries), str(c.starts)] for c in classes],
                         ["CLASS", "COURSE", "TYPE", "FIRST START", "INTERVAL", "BIBS", "VACANT b/d/a/every",
                          "MAX TIME", "DRAW", "START BOX", "ENTRIES", "STARTS"])
            return EXIT_OK
        changes = _changes(args, _CLASS_OPTIONS)
        if not changes:
            raise CliError("nothing to change (give --first-start, --start-interval, --bib-start, --max-time, …)")
        saved = []
        with db.atomic():  # several classes: all or none
            for name in args.classes:
                saved.append(es.set_class(db, race.id, name, changes))
    except es.SetupError as exc:
        what = "class" if args.class_command == "set" else ""
        raise _error(exc, what, options) from None
    if args.json:
        print(json.dumps([_class_json(c, race) for c in saved], indent=2))
    else:
        for c in saved:
            print(f"class {c.name} (race {race.race_number or race.id}) saved: first start {c.text('first_start') or '-'}, "
                  f"interval {c.text('start_interval') or '-'}, bibs {_bibs(c)}, max time {c.text('max_time') or '-'}")
    return EXIT_OK


def _bibs(c: Any) -> str:
    rng = c.bib_range
    return f"{rng[0]}–{rng[1]}" if rng else "-"


def _vacant(c: Any) -> str:
    return f"{c.vacancies_before}/{c.vacancies}/{c.vacancies_after}/{c.vacancy_every or '-'}"


COMMANDS = {"event": cmd_event, "race": cmd_race, "class": cmd_class}
