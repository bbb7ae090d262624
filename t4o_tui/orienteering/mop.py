"""MeOS Online Protocol (MOP): the XML documents live results services accept from timing programs.

Written from the protocol as MeOS sends it (its online-results module): a root `MOPComplete`
(replaces everything the service holds for the competition) or `MOPDiff` (only what changed), in
the namespace http://www.melin.nu/mop, holding in this order

- `competition` (text: name; date YYYY-MM-DD, organizer, homepage, zerotime HH:MM:SS),
- `ctrl id` (text: name) for each radio control,
- `cls id ord radio [len] [climb]` (text: name; radio = control ids, ',' between controls),
- `org id [nat]` (text: name),
- `cmp id [card] [competing]` with `base org cls stat [prel] st rt [bib] [nat]` (text: name), an
  optional `radio` (text 'control,time;control,time') and `input it tstat`,
- a deleted organisation or competitor as `<org id="…" delete="true"/>` / `<cmp … delete="true"/>`.

Times are tenths of a second: `st` from the zero time (-1 when not known), `rt` the running time,
radio times from the start. Status codes are MeOS's (see MOP_STATUS). The service answers
`<MOPStatus status="OK"/>`, or BADCMP, BADPWD, NOZIP, ERROR.

Pure: records in, documents and differences out. What was acknowledged is kept by the caller as a
digest per record, so a difference is computed without keeping the documents themselves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from t4o_tui.orienteering.punch_check import Status

MOP_NS = "http://www.melin.nu/mop"

# MeOS's RunnerStatus codes. Time4o's display statuses (Started, Checked, Finished, Inactive) have no
# code of their own: they are "no result yet" (0); Finished with a time is sent as a preliminary OK.
MOP_STATUS: dict[str, int] = {
    Status.OK.value: 1,
    Status.MISSING_PUNCH.value: 3,
    Status.DID_NOT_FINISH.value: 4,
    Status.SPORTING_WITHDRAWAL.value: 4,
    Status.DISQUALIFIED.value: 5,
    Status.OVER_TIME.value: 6,
    Status.DID_NOT_START.value: 20,
    Status.CANCELLED.value: 21,
    Status.DID_NOT_ENTER.value: 21,
    Status.NOT_COMPETING.value: 99,
    Status.MOVED.value: 99,
    Status.MOVED_UP.value: 99,
}
OUT_OF_COMPETITION = 15  # runs and gets a time but no place: the entry status "not competing"
SERVER_ANSWERS = {
    "BADCMP": "the competition id is not known to the service",
    "BADPWD": "the password was refused",
    "NOZIP": "the service does not accept zipped uploads",
    "ERROR": "the service reported an internal error",
}
# Kinds in document order; a difference may delete only org and cmp (as MeOS does): a control,
# class or the competition gone means a complete document.
KIND_ORDER = ("competition", "ctrl", "cls", "org", "cmp")
DELETABLE = ("org", "cmp")


@dataclass(frozen=True)
class MopCompetition:
    name: str
    date: str
    organizer: str = ""
    homepage: str = ""
    zerotime: str = "00:00:00"


@dataclass(frozen=True)
class MopControl:
    id: int
    name: str


@dataclass(frozen=True)
class MopClass:
    id: int
    name: str
    order: int
    radio: tuple[int, ...] = ()
    length: int | None = None
    climb: int | None = None


@dataclass(frozen=True)
class MopOrganisation:
    id: int
    name: str
    nat: str | None = None


@dataclass(frozen=True)
class MopCompetitor:
    id: int
    name: str
    org: int
    cls: int
    stat: int
    st: int  # tenths after the zero time, -1 when not known
    rt: int  # running time in tenths, 0 when none
    card: int = 0
    bib: str | None = None
    nat: str | None = None
    prel: bool = False
    competing: bool = False
    radio: tuple[tuple[int, int], ...] = ()  # (control id, tenths from the start)
    it: int = 0  # input time from earlier races (tenths)
    tstat: int = 0  # status including earlier races


def _attrs(pairs: Iterable[tuple[str, object]]) -> str:
    return "".join(f" {k}={quoteattr(str(v))}" for k, v in pairs)


def competition_xml(c: MopCompetition) -> str:
    a = _attrs((("date", c.date), ("organizer", c.organizer), ("homepage", c.homepage), ("zerotime", c.zerotime)))
    return f"<competition{a}>{escape(c.name)}</competition>"


def control_xml(c: MopControl) -> str:
    return f"<ctrl{_attrs((('id', c.id),))}>{escape(c.name)}</ctrl>"


def class_xml(c: MopClass) -> str:
    pairs: list[tuple[str, object]] = [("id", c.id), ("ord", c.order), ("radio", ",".join(map(str, c.radio)))]
    if c.length:
        pairs.append(("len", c.length))
    if c.climb:
        pairs.append(("climb", c.climb))
    return f"<cls{_attrs(pairs)}>{escape(c.name)}</cls>"


def organisation_xml(o: MopOrganisation) -> str:
    pairs: list[tuple[str, object]] = [("id", o.id)]
    if o.nat:
        pairs.append(("nat", o.nat))
    return f"<org{_attrs(pairs)}>{escape(o.name)}</org>"


def competitor_xml(c: MopCompetitor) -> str:
    # A competitor is always sent whole (card, radio and input included), so a difference never
    # depends on which attributes the service happened to keep from an earlier one.
    outer: list[tuple[str, object]] = [("id", c.id), ("card", c.card)]
    if c.competing:
        outer.append(("competing", "true"))
    base: list[tuple[str, object]] = [("org", c.org), ("cls", c.cls), ("stat", c.stat)]
    if c.prel:
        base.append(("prel", "true"))
    base += [("st", c.st), ("rt", c.rt)]
    if c.bib:
        base.append(("bib", c.bib))
    if c.nat:
        base.append(("nat", c.nat))
    radio = f"<radio>{';'.join(f'{code},{t}' for code, t in c.radio)}</radio>" if c.radio else ""
    return (f"<cmp{_attrs(outer)}><base{_attrs(base)}>{escape(c.name)}</base>{radio}"
            f"<input{_attrs((('it', c.it), ('tstat', c.tstat)))}/></cmp>")


def snapshot(competition: MopCompetition, controls: Iterable[MopControl], classes: Iterable[MopClass],
             organisations: Iterable[MopOrganisation], competitors: Iterable[MopCompetitor]) -> dict[str, str]:
    """Every record as its element, keyed 'kind:id' (the competition is 'competition')."""
    out = {"competition": competition_xml(competition)}
    out.update({f"ctrl:{c.id}": control_xml(c) for c in controls})
    out.update({f"cls:{c.id}": class_xml(c) for c in classes})
    out.update({f"org:{o.id}": organisation_xml(o) for o in organisations})
    out.update({f"cmp:{c.id}": competitor_xml(c) for c in competitors})
    return out


def digest(element: str) -> str:
    return hashlib.sha256(element.encode()).hexdigest()[:16]


def _order(key: str) -> tuple[int, int]:
    kind, _, ident = key.partition(":")
    return KIND_ORDER.index(kind), int(ident) if ident.lstrip("-").isdigit() else 0


@dataclass(frozen=True)
class Upload:
    """What to send: complete (replace all) or a difference; elements and deletions in document order."""

    complete: bool
    elements: tuple[tuple[str, str], ...]  # (key, element)
    deleted: tuple[str, ...]  # keys

    @property
    def empty(self) -> bool:
        return not self.elements and not self.deleted


def plan(current: Mapping[str, str], acknowledged: Mapping[str, str] | None) -> Upload:
    """The upload that brings a service holding `acknowledged` (key -> digest; None: nothing known
    to hold) to `current`."""
    keys = sorted(current, key=_order)
    if acknowledged is None:
        return Upload(True, tuple((k, current[k]) for k in keys), ())
    gone = sorted((k for k in acknowledged if k not in current), key=_order)
    if any(k.partition(":")[0] not in DELETABLE for k in gone):
        return Upload(True, tuple((k, current[k]) for k in keys), ())
    changed = tuple((k, current[k]) for k in keys if acknowledged.get(k) != digest(current[k]))
    return Upload(False, changed, tuple(gone))


def delete_xml(key: str) -> str:
    kind, _, ident = key.partition(":")
    return f"<{kind}{_attrs((('id', ident), ('delete', 'true')))}/>"


@dataclass(frozen=True)
class Chunk:
    """One document: its bytes, and what the service holds once it answered OK."""

    document: bytes
    complete: bool
    elements: tuple[tuple[str, str], ...]
    deleted: tuple[str, ...]


def chunks(upload: Upload, size: int) -> list[Chunk]:
    """The upload as documents of at most `size` records: only the first of a complete upload is
    MOPComplete (it replaces what the service holds); the rest add to it as MOPDiff, like MeOS."""
    items: list[tuple[str, str, bool]] = [(k, delete_xml(k), True) for k in upload.deleted]
    items += [(k, e, False) for k, e in upload.elements]
    # Kinds in document order, a kind's deletions first: classes and clubs come before the
    # competitors that name them, in every piece.
    items.sort(key=lambda item: (_order(item[0])[0], not item[2], _order(item[0])[1]))
    out: list[Chunk] = []
    for i in range(0, max(len(items), 1), size):
        part = items[i:i + size]
        complete = upload.complete and i == 0
        out.append(Chunk(document(complete, [e for _, e, _ in part]), complete,
                         tuple((k, e) for k, e, d in part if not d), tuple(k for k, _, d in part if d)))
    return out


def document(complete: bool, elements: Sequence[str]) -> bytes:
    root = "MOPComplete" if complete else "MOPDiff"
    body = "\n".join(elements)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{MOP_NS}">\n{body}\n</{root}>\n').encode()


def acknowledge(acknowledged: Mapping[str, str] | None, chunk: Chunk) -> dict[str, str]:
    """What the service holds after answering OK to `chunk`."""
    held = {} if chunk.complete or acknowledged is None else dict(acknowledged)
    for k in chunk.deleted:
        held.pop(k, None)
    held.update({k: digest(e) for k, e in chunk.elements})
    return held


def tenths(seconds: float | None) -> int:
    return 0 if seconds is None else int(round(seconds * 10))


def mop_status(status: str, *, has_time: bool, not_competing: bool = False) -> tuple[int, bool]:
    """(MeOS status code, preliminary) for a Time4o status."""
    if not_competing and status == Status.OK.value:
        return OUT_OF_COMPETITION, False
    if status == Status.FINISHED.value and has_time:
        return 1, True  # finish passed, card not read out yet: MeOS's preliminary OK
    return MOP_STATUS.get(status, 0), False
