"""Human-readable lists (start lists, result lists) as one HTML page and as CSV.

The page reads well on a phone and on a desk screen: one column of class sections, large type, and
an optional meta refresh so a screen keeps itself current.

Arena mode (render_page(arena=True), or `?arena` on the page's URL, e.g. a share link
`/s/<token>?arena&cycle=8`) fills a large screen (1920x1080) with as many columns of classes as fit
and turns the page by itself every `cycle` seconds (default 12), so the classes come round in turn:
the one script of the page, a few lines, and only in arena mode. Without scripts the page is the
ordinary list.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass

CSS = """
:root { color-scheme: light dark; --fg: #111; --bg: #fff; --muted: #666; --line: #ddd; --head: #f2f2f2; }
@media (prefers-color-scheme: dark) { :root { --fg: #eee; --bg: #111; --muted: #aaa; --line: #333; --head: #1d1d1d; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 0.5rem; font: 16px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--fg); background: var(--bg); }
header { margin: 0 0 0.75rem; }
h1 { font-size: 1.35rem; margin: 0; }
.meta { color: var(--muted); font-size: 0.85rem; }
nav { display: flex; flex-wrap: wrap; gap: 0.35rem; margin: 0.5rem 0 1rem; }
nav a { padding: 0.2rem 0.55rem; border: 1px solid var(--line); border-radius: 0.4rem; text-decoration: none; color: inherit; }
section { margin: 0 0 1.25rem; break-inside: avoid; }
h2 { font-size: 1.15rem; margin: 0 0 0.3rem; padding: 0.25rem 0.4rem; background: var(--head); border-radius: 0.3rem; }
h2 small { color: var(--muted); font-weight: normal; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 0.2rem 0.4rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 0.8rem; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.club { color: var(--muted); }
tr.dim td { color: var(--muted); }
@media (min-width: 1200px) { body { font-size: 20px; } main { column-count: 2; column-gap: 2rem; } }
@media (max-width: 480px) { .wide { display: none; } }
body.arena { height: 100vh; overflow: hidden; font-size: 22px; padding: 0.5rem 1rem; }
body.arena header { display: flex; align-items: baseline; gap: 1.5rem; margin: 0 0 0.5rem; }
body.arena nav { display: none; }
#page { display: none; }
body.arena #page { display: block; margin-left: auto; color: var(--muted); font-variant-numeric: tabular-nums; }
body.arena main { height: calc(100vh - 3.5rem); column-count: auto; column-width: 24rem; column-gap: 2rem;
                  column-fill: auto; overflow: hidden; }
body.arena section { break-inside: avoid-column; }
"""
# Arena mode: on when the page says so (data-arena) or the URL asks (?arena, ?arena=1; ?arena=0 turns
# it off); every `cycle` seconds the columns move on by one screen, and back to the first at the end.
ARENA_JS = """
(function () {
  var q = new URLSearchParams(location.search), b = document.body, m = document.querySelector("main");
  var on = q.has("arena") ? q.get("arena") !== "0" : b.dataset.arena === "1";
  if (!on || !m) return;
  b.classList.add("arena");
  var cycle = Math.max(2, parseFloat(q.get("cycle") || b.dataset.cycle || "12")) * 1000;
  var label = document.getElementById("page");
  function pages() { var w = m.clientWidth + parseFloat(getComputedStyle(m).columnGap || 0);
    return {w: w, n: Math.max(1, Math.ceil((m.scrollWidth + 1) / w))}; }
  function show(k) { var p = pages(); k = k % p.n; m.scrollLeft = k * p.w; b.dataset.page = k;
    if (label) label.textContent = p.n > 1 ? "page " + (k + 1) + "/" + p.n : ""; return k; }
  var k = show(0);
  window.addEventListener("load", function () { k = show(k); });  // the columns are laid out by then
  window.addEventListener("resize", function () { k = show(k); });
  setInterval(function () { k = show(k + 1); }, cycle);
})();
"""


@dataclass(frozen=True)
class Column:
    title: str
    numeric: bool = False
    wide_only: bool = False  # hidden on narrow phones


@dataclass(frozen=True)
class Section:
    """One class: its heading, a note (course, length) and its rows of cell texts."""

    title: str
    note: str
    rows: Sequence[Sequence[str]]
    dim_rows: frozenset[int] = frozenset()  # e.g. vacant starts, not-OK results


def render_page(title: str, meta: str, columns: Sequence[Column], sections: Sequence[Section], *,
                refresh_seconds: int | None = None, arena: bool = False, cycle_seconds: int = 12) -> bytes:
    """One HTML page with a section per class; all text escaped. arena: open in arena mode (the
    URL's ?arena=0 still turns it off); cycle_seconds: how long each screen of classes shows."""
    esc = html.escape
    out = io.StringIO()
    out.write('<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n')
    out.write('<meta name="viewport" content="width=device-width, initial-scale=1">\n')
    if refresh_seconds:
        out.write(f'<meta http-equiv="refresh" content="{int(refresh_seconds)}">\n')
    out.write(f"<title>{esc(title)}</title>\n<style>{CSS}</style></head>"
              f'<body data-arena="{1 if arena else 0}" data-cycle="{max(2, int(cycle_seconds))}">\n')
    out.write(f"<header><h1>{esc(title)}</h1><div class=\"meta\">{esc(meta)}</div><div id=\"page\"></div>\n<nav>")
    for i, sec in enumerate(sections):
        out.write(f'<a href="#c{i}">{esc(sec.title)}</a>')
    out.write("</nav></header>\n<main>\n")
    head = "".join(
        f'<th class="{"num " if c.numeric else ""}{"wide" if c.wide_only else ""}">{esc(c.title)}</th>' for c in columns
    )
    for i, sec in enumerate(sections):
        out.write(f'<section id="c{i}"><h2>{esc(sec.title)} <small>{esc(sec.note)}</small></h2>\n')
        out.write(f"<table><thead><tr>{head}</tr></thead><tbody>\n")
        for r, row in enumerate(sec.rows):
            cls = ' class="dim"' if r in sec.dim_rows else ""
            cells = []
            for c, text in zip(columns, row, strict=False):
                klass = " ".join(k for k in ("num" if c.numeric else "", "wide" if c.wide_only else "",
                                             "club" if c.title.lower() == "club" else "") if k)
                cells.append(f'<td class="{klass}">{esc(text)}</td>' if klass else f"<td>{esc(text)}</td>")
            out.write(f"<tr{cls}>{''.join(cells)}</tr>\n")
        out.write("</tbody></table></section>\n")
    out.write(f"</main><script>{ARENA_JS}</script></body></html>\n")
    return out.getvalue().encode("utf-8")


def render_csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    """CSV with a header row, semicolon separated (opens right in spreadsheet programs set for Europe)."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
