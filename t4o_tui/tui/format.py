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
