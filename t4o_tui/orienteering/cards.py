"""Assign Cards (rental cards to entries) and the Import Cards readers (orienteering.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from t4o_tui.orienteering.entry_table import (
    MAX_PROBLEMS,
    Problem,
    TableError,
    decode_text,
    read_csv_records,
    sniff_delimiter,
)

MAX_CARD_DIGITS = 9  # SI and emiTag numbers have up to 8 digits; more is a typo
MAX_RANGE = 10_000  # more cards than any event rents: a range this long is a typo


class CardTarget(StrEnum):
    WITHOUT_CARD = "without_card"  # only entries with no card get one
    ALL = "all"  # every entry gets a rental card, replacing the one it has


@dataclass(frozen=True)
class CardEntry:
    """An entry of a selected race; entries with the same `person` get the same card."""

    id: int
    race: int
    person: int | str | None = None
    club: str | None = None  # club name: cards are handed out packed per club
    start_time: datetime | None = None
    card: int | None = None


@dataclass(frozen=True)
class CardAssignment:
    """Give the entry this card (None: take its card away, in ALL mode when cards ran out)."""

    entry_id: int
    card: int | None


@dataclass
class CardReport:
    assignments: list[CardAssignment]
    without_card: list[int]  # entries left without a card: not enough free rental cards
    warnings: list[str] = field(default_factory=list)


def assign_cards(
    entries: Sequence[CardEntry], rental_cards: Iterable[int],
    target: CardTarget = CardTarget.WITHOUT_CARD, reserved: Iterable[int] = (),
) -> CardReport:
    """Free rental cards, ascending, to entries by club then start time; one card per person.

    A rental card is free when no entry given here holds it (in any race: a runner keeps a rented
    card for the whole event) and it is not in `reserved` (e.g. held in a race not selected).
    """
    warnings: list[str] = []
    replace = target == CardTarget.ALL
    held: dict[int, set[int]] = {}  # card → races where an entry keeps it
    if not replace:
        for e in entries:
            if e.card is not None:
                held.setdefault(e.card, set()).add(e.race)
    taken = set(held) | set(reserved)
    free = sorted(set(rental_cards) - taken)

    groups: dict[tuple[str, object], list[CardEntry]] = {}
    for e in sorted(entries, key=lambda e: (e.race, e.id)):
        key = ("person", e.person) if e.person is not None else ("entry", e.id)
        groups.setdefault(key, []).append(e)

    assignments: list[CardAssignment] = []
    needing: list[list[CardEntry]] = []
    for members in groups.values():
        missing = members if replace else [e for e in members if e.card is None]
        if not missing:
            continue
        own = _person_card(members, missing, held) if not replace else None
        if own is not None:
            for e in missing:
                assignments.append(CardAssignment(e.id, own))
                held.setdefault(own, set()).add(e.race)
        else:
            needing.append(missing)

    needing.sort(key=_pack_order)
    without: list[int] = []
    for missing, card in zip(needing, free + [None] * len(needing), strict=False):
        if card is None:
            without.extend(e.id for e in missing)
            if replace:
                assignments.extend(CardAssignment(e.id, None) for e in missing)
            continue
        assignments.extend(CardAssignment(e.id, card) for e in missing)
    if without:
        shown = ", ".join(map(str, without[:20])) + (" …" if len(without) > 20 else "")
        warnings.append(
            f"not enough free rental cards: {len(free)} free, {len(needing)} needed; "
            f"{len(without)} entries got none: {shown}"
        )
    return CardReport(assignments, without, warnings)


def _person_card(
    members: list[CardEntry], missing: list[CardEntry], held: dict[int, set[int]],
) -> int | None:
    """The card the person already has in another race, if it is free in the missing races."""
    cards = sorted({e.card for e in members if e.card is not None})
    for card in cards:
        if not held.get(card, set()) & {e.race for e in missing}:
            return card
    return None


def _pack_order(missing: list[CardEntry]) -> tuple[bool, str, bool, float, int]:
    # The person's first race decides; no club and no start time sort last.
    first = missing[0]
    return (
        first.club is None, (first.club or "").casefold(),
        first.start_time is None, first.start_time.timestamp() if first.start_time else 0.0,
        first.id,
    )


# --- Import Cards ------------------------------------------------------------------------------

@dataclass(frozen=True)
class CardLine:
    line: int
    number: int
    info: str | None = None


@dataclass
class CardFile:
    cards: list[CardLine]
    warnings: list[str] = field(default_factory=list)


def parse_card_number(text: str) -> int:
    """A card number: a positive whole number of at most MAX_CARD_DIGITS digits."""
    text = text.strip()
    if not re.fullmatch(r"\d+", text):
        raise ValueError(f"{text!r} is not a card number")
    number = int(text)
    if number < 1:
        raise ValueError(f"{text!r} is not a card number (must be positive)")
    if len(str(number)) > MAX_CARD_DIGITS:
        raise ValueError(f"{text!r} is not a card number (more than {MAX_CARD_DIGITS} digits)")
    return number


_CARD_TITLES = {"SIID", "SI-CARD", "SI CARD", "SICARD", "CARD", "CARD NO", "CARD NUMBER", "CHIP", "CHIPNO", "BRICKA",
                "BRIK", "PUCE"}


def read_card_file(data: bytes) -> CardFile:
    """Card numbers, one a line with optional info after `,` `;` or tab; header line optional."""
    text = decode_text(data)
    records = read_csv_records(text, sniff_delimiter(text))
    problems: list[Problem] = []
    warnings: list[str] = []
    cards: list[CardLine] = []
    seen: dict[int, int] = {}
    for i, (line, cells) in enumerate(records):
        first = cells[0].strip() if cells else ""
        if i == 0 and not re.match(r"[\d+-]", first):
            # A header: its first cell does not even start like a number. One that titles another
            # column as the card (a readout export: No;Read on;SIID;...) is no card list: its first
            # column would be read as card numbers (1, 2, 3 ...).
            titles = [" ".join(c.split()).upper() for c in cells]
            at = next((k for k, t in enumerate(titles) if k > 0 and t in _CARD_TITLES), None)
            if at is not None:
                raise TableError([Problem(f"column {at + 1} ({cells[at].strip()}) holds the card numbers, not the first: "
                                          "a card list has them first (is this a readout export?)", line)])
            continue
        try:
            number = parse_card_number(first)
        except ValueError as exc:
            if len(problems) < MAX_PROBLEMS:
                problems.append(Problem(str(exc), line))
            continue
        if number in seen:
            warnings.append(f"line {line}: card {number} repeats line {seen[number]}, ignored")
            continue
        seen[number] = line
        info = cells[1].strip() if len(cells) > 1 else ""
        cards.append(CardLine(line, number, info or None))
    if problems:
        raise TableError(problems)
    if not cards:
        warnings.append("no card numbers in the file")
    return CardFile(cards, warnings)


def card_range(first: int, last: int) -> list[int]:
    """Card numbers first … last inclusive; backwards or huge ranges are a ValueError."""
    for n in (first, last):
        parse_card_number(str(n))
    if first > last:
        raise ValueError(
            f"the range {first}–{last} runs backwards: the first number must not be greater "
            "than the last"
        )
    if last - first + 1 > MAX_RANGE:
        raise ValueError(
            f"the range {first}–{last} holds {last - first + 1} cards; at most {MAX_RANGE} at a "
            "time (is a digit missing or extra?)"
        )
    return list(range(first, last + 1))


def parse_card_range(text: str) -> list[int]:
    """'500-600' or '500 – 600' (hyphen or en dash) → card_range(500, 600)."""
    m = re.fullmatch(r"\s*(\S+?)\s*[-–—]\s*(\S+)\s*", text)
    if not m:
        raise ValueError(f"{text.strip()!r} is not a range of card numbers (e.g. 500-600)")
    return card_range(parse_card_number(m[1]), parse_card_number(m[2]))
