"""How runs look on screen: status as a glyph, a word and a colour; compact times; progress bars."""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.text import Text

from t4o_tui.timefmt import clock_time, relative

# The glyph and the word carry the meaning (NO_COLOR, 16 colours); the colour only helps.
# Glyphs of East Asian width "N", so that no terminal draws them two cells wide.
STATUS_GLYPH = {"queued": "◦", "running": "▸", "succeeded": "✓", "failed": "✗", "cancelled": "⊘"}
STATUS_STYLE = {"queued": "cyan", "running": "yellow bold", "succeeded": "green", "failed": "red bold",
                "cancelled": "magenta"}
ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "cancelled")
LEVEL_STYLE = {"debug": "dim", "info": "", "warning": "yellow", "error": "red bold"}


def status_text(status: str | None, *, cancelling: bool = False) -> Text:
    if status is None:
        return Text("– never run", style="dim")
    glyph = STATUS_GLYPH.get(status, "?")
    word = "cancelling" if cancelling and status == "running" else status
    return Text(f"{glyph} {word}", style=STATUS_STYLE.get(status, ""))


def ago(ts: float | None, now: float) -> str:
    """Compact relative time for table cells: 'now', '42 s ago', '3 min ago', 'in 5 h'."""
    if ts is None:
        return ""
    delta = ts - now
    s = abs(delta)
    if s < 1:
        return "now"
    if s < 60:
        text = f"{int(s)} s"
    elif s < 3600:
        text = f"{int(s // 60)} min"
    elif s < 86400:
        text = f"{int(s // 3600)} h"
    else:
        text = f"{int(s // 86400)} d"
    return f"in {text}" if delta > 0 else f"{text} ago"


def elapsed(seconds: float | None) -> str:
    """'0:42', '12:03', '1:02:03'."""
    if seconds is None:
        return ""
    s = max(int(seconds), 0)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02}:{sec:02}" if h else f"{m}:{sec:02}"


def progress_bar(fraction: float | None, width: int = 5) -> Text:
    if fraction is None:
        return Text("")
    f = min(max(fraction, 0.0), 1.0)
    filled = int(round(f * width))
    return Text.assemble(("█" * filled, "yellow"), ("░" * (width - filled), "dim"), f" {int(f * 100):>3}%")


def when(ts: float | None, now: float, tz: tzinfo | None) -> str:
    """Relative and absolute: '3 minutes ago (14:02:11)'; the date too when not today."""
    if ts is None:
        return "–"
    local = datetime.fromtimestamp(ts, tz)
    today = datetime.fromtimestamp(now, tz).date()
    absolute = clock_time(ts, tz) if local.date() == today else local.strftime("%Y-%m-%d %H:%M:%S")
    return f"{relative(ts, now)} ({absolute})"


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


# Schedules and occurrences: again a glyph and a word, the colour only helps.
SCHEDULE_STATE = {"active": ("↻", "green"), "upcoming": ("⋯", "cyan"), "paused": ("⊖", "yellow bold"),
                  "ended": ("⊗", "dim")}
OCCURRENCE_STATE = {"fired": ("✓", "green"), "missed": ("✗", "red"), "skipped-overlap": ("↷", "magenta"),
                    "coalesced": ("⊜", "cyan"), "paused": ("⊖", "yellow"), "dst-shifted": ("⚠", "yellow")}
# A schedule's pauses and resumes in its history, beside the occurrences: a pause takes the
# paused glyph (its times show it), a resume the active one; bold, as the admin's acts.
SCHEDULE_EVENT = {"pause": ("⊖", "yellow bold"), "resume": ("↻", "green bold")}
SHARE_STATE = {"active": ("✓", "green"), "revoked": ("⊘", "magenta"), "expired": ("⊗", "dim")}
# Why a preview time is marked: the admin must see that daylight saving moved or repeated it.
DST_WORDS = {"gap": "DST gap: moved past the skipped hour", "first": "DST: repeated hour, fires on this first pass only",
             "fold": "DST: repeated hour, second pass fires too"}


def state_text(state: str, table: dict[str, tuple[str, str]]) -> Text:
    glyph, style = table.get(state, ("?", ""))
    return Text(f"{glyph} {state}", style=style)


def stamp(ts: float | None, now: float, tz: tzinfo | None, *, wide: bool = False) -> str:
    """A compact absolute time for table cells: '14:02:11' today, 'Sat 14:02' within a week
    ('Sat 14:02:11' when wide), '2026-06-01' otherwise ('2026-06-01 14:02' when wide)."""
    if ts is None:
        return "–"
    local = datetime.fromtimestamp(ts, tz)
    today = datetime.fromtimestamp(now, tz).date()
    if local.date() == today:
        return local.strftime("%H:%M:%S")
    if abs((local.date() - today).days) < 7:
        return local.strftime("%a %H:%M:%S" if wide else "%a %H:%M")
    return local.strftime("%Y-%m-%d %H:%M" if wide else "%Y-%m-%d")


def full_stamp(ts: float | None, tz: tzinfo | None) -> str:
    """'Sat 2026-06-01 14:02:11 CEST', the way systemctl list-timers writes NEXT and LAST."""
    if ts is None:
        return "–"
    return datetime.fromtimestamp(ts, tz).strftime("%a %Y-%m-%d %H:%M:%S %Z").strip()


def lateness(ms: float | None) -> str:
    """'+3 ms', '+1.2 s', '+4 min'; '' when nothing was enqueued."""
    if ms is None:
        return ""
    if abs(ms) < 1000:
        return f"{ms:+.0f} ms"
    s = ms / 1000
    if abs(s) < 60:
        return f"{s:+.1f} s"
    return f"{s / 60:+.0f} min"
