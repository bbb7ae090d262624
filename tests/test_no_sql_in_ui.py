"""The TUI holds no SQL and no ORM query: screens call query functions outside tui/ (engine.queries,
engine.event_lists, engine.readouts, share.links, jobs.result_view) that return dataclasses."""

from __future__ import annotations

import re
from pathlib import Path

import t4o_tui.tui

TUI = Path(t4o_tui.tui.__file__).resolve().parent

# What SQL or a database query looks like in Python source: a cursor call, a statement's first
# words in capitals (as this code base writes SQL; "Select a row" in a label is not SQL), the
# store's models (the ORM is SQL too).
FORBIDDEN = [
    (re.compile(r"\.execute(?:_sql|many|script)?\("), "a database call (execute…)"),
    (re.compile(r"\bSELECT\s+[\w*(]"), "a SELECT statement"),
    (re.compile(r"\bUPDATE\s+\w+\s+SET\b"), "an UPDATE statement"),
    (re.compile(r"\bINSERT\s+(?:OR\s+\w+\s+)?INTO\b"), "an INSERT statement"),
    (re.compile(r"\bDELETE\s+FROM\b"), "a DELETE statement"),
    (re.compile(r"\bt4o_tui\.store\b"), "an import of the store (models, database)"),
    (re.compile(r"\bevent_rows\b|\bevent_call\b"), "a door that runs what a screen hands it"),
]


def sql_in(text: str) -> list[tuple[int, str]]:
    """(line, what) for each line of `text` that holds SQL or a database query."""
    return [(n, what) for n, line in enumerate(text.splitlines(), start=1)
            for pattern, what in FORBIDDEN if pattern.search(line)]


def test_the_check_finds_sql_where_there_is_some():
    # Each pattern must be able to fail: a screen that queried directly would be caught.
    planted = "\n".join([
        'rows = db.execute_sql("SELECT id FROM run").fetchall()',
        'conn.execute("UPDATE entry SET bib=? WHERE id=?", (b, i))',
        'db.execute_sql("INSERT OR IGNORE INTO card(number) VALUES (?)")',
        'SQL = "DELETE FROM entry_card WHERE entry_id=?"',
        "from t4o_tui.store.models import Race",
        "await self.services.event_rows(SQL)",
    ])
    assert [n for n, _ in sql_in(planted)] == [1, 1, 2, 2, 3, 3, 4, 5, 6]
    # ... and not in the words of the UI.
    assert sql_in('self.notify("Select a row first, then update it.")\nhint = "Select the run; delete from the list"') == []


def test_no_module_under_tui_holds_sql():
    files = sorted(TUI.rglob("*.py"))
    assert len(files) > 20, f"the TUI's modules were not found under {TUI}"
    found = [f"{path.relative_to(TUI.parent.parent)}:{n}: {what}"
             for path in files for n, what in sql_in(path.read_text(encoding="utf-8"))]
    assert found == [], "SQL in the UI (move it to a query function outside tui/):\n" + "\n".join(found)
