"""Split tickets: what a runner gets at readout, for a receipt printer (ESC/POS) and as an HTML page.

ESC/POS is Epson's command language that receipt printers share; a ticket needs only a few of its
commands: initialise (ESC @), choose the character table (ESC t 16: Windows-1252, so club and
runner names keep their letters), bold on/off (ESC E 1/0), feed lines (ESC d n) and cut (GS V 1,
partial cut). Text lines are fitted to the paper's width (32 to 48 characters).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import escape

from t4o_tui.orienteering.punch_check import Status

ESC, GS = b"\x1b", b"\x1d"
INIT = ESC + b"@"
CODE_PAGE_1252 = ESC + b"t\x10"
BOLD_ON, BOLD_OFF = ESC + b"E\x01", ESC + b"E\x00"
FEED_AND_CUT = ESC + b"d\x04" + GS + b"V\x01"

STATUS_TEXT = {
    Status.OK.value: "OK",
    Status.MISSING_PUNCH.value: "Missing punch",
    Status.DID_NOT_FINISH.value: "Did not finish",
    Status.DISQUALIFIED.value: "Disqualified",
    Status.OVER_TIME.value: "Over time",
    Status.DID_NOT_START.value: "Did not start",
    Status.FINISHED.value: "Finished",
    Status.NOT_COMPETING.value: "Not competing",
}


@dataclass(frozen=True)
class TicketLine:
    """One course control: time since start (split) and since the previous control (leg)."""

    number: int
    code: str
    split: float | None
    leg: float | None
    missing: bool = False


@dataclass(frozen=True)
class Ticket:
    event: str
    name: str
    class_name: str
    club: str
    card: str
    status: str
    time: float | None
    place: int | None
    finished: int  # runners of the class with a result so far
    start: float | None
    finish: float | None
    read_at: float
    lines: tuple[TicketLine, ...]
    finish_leg: float | None = None
    note: str = ""  # e.g. "card not found": no runner, the ticket says so


def clock(seconds: float | None) -> str:
    """A running time as H:MM:SS or M:SS; '-' when there is none."""
    if seconds is None:
        return "-"
    s = int(round(seconds))
    h, m, sec = s // 3600, s % 3600 // 60, s % 60
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def wall(t: float | None, tz: tzinfo) -> str:
    return "-" if t is None else datetime.fromtimestamp(t, tz).strftime("%H:%M:%S")


def status_text(status: str) -> str:
    return STATUS_TEXT.get(status, status)


def _fit(left: str, right: str, width: int) -> str:
    room = width - len(right) - 1
    return f"{left[:room]:<{room}} {right}"


def text_lines(t: Ticket, tz: tzinfo, width: int = 42) -> list[tuple[str, bool]]:
    """The ticket as (line, bold) pairs, each at most `width` characters."""
    width = max(32, min(width, 48))
    out: list[tuple[str, bool]] = [(t.event[:width], True), ("", False)]
    if t.note:
        out.append((t.note[:width], True))
    out += [(t.name[:width], True), (_fit(t.class_name, t.club, width), False), (_fit("Card", t.card, width), False),
            ("", False), (_fit("Status", status_text(t.status), width), True), (_fit("Time", clock(t.time), width), True)]
    if t.place is not None:
        out.append((_fit("Place so far", f"{t.place} of {t.finished}", width), True))
    out += [(_fit("Start", wall(t.start, tz), width), False), (_fit("Finish", wall(t.finish, tz), width), False),
            ("", False), (_fit("  # Control", "Split      Leg", width), False), ("-" * width, False)]
    for line in t.lines:
        if line.missing:
            out.append((_fit(f"{line.number:3d} {line.code}", "MISSING", width), True))
        else:
            out.append((_fit(f"{line.number:3d} {line.code}", f"{clock(line.split):>8} {clock(line.leg):>8}", width), False))
    if t.lines:
        out.append((_fit("    Finish", f"{clock(t.time):>8} {clock(t.finish_leg):>8}", width), False))
    missing = [x.code for x in t.lines if x.missing]
    if missing:
        out += [("", False), (f"Missing: {', '.join(missing)}"[:width], True)]
    out += [("", False), (_fit("Read out", wall(t.read_at, tz), width), False)]
    return out


def escpos(t: Ticket, tz: tzinfo, width: int = 42) -> bytes:
    """The ticket for a receipt printer: initialise, Windows-1252 text, bold where it matters, cut."""
    parts = [INIT, CODE_PAGE_1252]
    for line, bold in text_lines(t, tz, width):
        data = line.encode("cp1252", errors="replace") + b"\n"
        parts.append(BOLD_ON + data + BOLD_OFF if bold else data)
    parts.append(FEED_AND_CUT)
    return b"".join(parts)


_STYLE = ("body{font-family:system-ui,sans-serif;max-width:28em;margin:1em auto;padding:0 .5em}"
          "table{border-collapse:collapse;width:100%}td{padding:.15em .4em;border-bottom:1px solid #ddd}"
          "td:nth-child(n+3){text-align:right;font-variant-numeric:tabular-nums}"
          ".missing td{color:#b00;font-weight:bold}.status{font-size:1.4em;font-weight:bold}"
          "section{page-break-after:always;margin-bottom:2em}")


def _section(t: Ticket, tz: tzinfo) -> str:
    rows = "".join(
        f"<tr class=\"missing\"><td>{x.number}</td><td>{escape(x.code)}</td><td colspan=\"2\">missing</td></tr>"
        if x.missing else
        f"<tr><td>{x.number}</td><td>{escape(x.code)}</td><td>{clock(x.split)}</td><td>{clock(x.leg)}</td></tr>"
        for x in t.lines)
    if t.lines:
        rows += f"<tr><td></td><td>Finish</td><td>{clock(t.time)}</td><td>{clock(t.finish_leg)}</td></tr>"
    place = f"<p class=\"place\">Place so far: {t.place} of {t.finished}</p>" if t.place is not None else ""
    note = f"<p class=\"note\">{escape(t.note)}</p>" if t.note else ""
    return (
        f"<section><h1>{escape(t.event)}</h1>{note}<h2>{escape(t.name)}</h2>"
        f"<p>{escape(t.class_name)} · {escape(t.club)} · card {escape(t.card)}</p>"
        f"<p class=\"status\">{escape(status_text(t.status))} {clock(t.time)}</p>{place}"
        f"<p>Start {wall(t.start, tz)} · finish {wall(t.finish, tz)}</p>"
        f"<table><thead><tr><th>#</th><th>Control</th><th>Split</th><th>Leg</th></tr></thead><tbody>{rows}</tbody></table>"
        f"<p>Read out {wall(t.read_at, tz)}</p></section>"
    )


def html_page(tickets: list[Ticket], tz: tzinfo, title: str) -> str:
    """Tickets as one HTML page, one per printed page."""
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
            + "".join(_section(t, tz) for t in tickets) + "</body></html>\n")


def html(t: Ticket, tz: tzinfo) -> str:
    """The ticket as a small HTML page (phone or screen at the readout tent)."""
    return html_page([t], tz, f"{t.name or t.card} – {status_text(t.status)}")
