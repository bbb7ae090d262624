"""The readout desk in the Readout view (key 8): an unknown card given to its runner (a) or to a new
entry (n) in a FormDialog; the card leaves Unknown cards and the runner's result shows with its
status, processed at once. A card on another entry asks y/n first. Real database, real processing."""

from __future__ import annotations

import pytest
from test_card_desk import StationData, assign_and_process, make_unknown
from test_tui import until
from test_tui_races import SIZES, make_app, run
from textual.pilot import Pilot
from textual.widgets import Input, Select

from t4o_tui.engine import card_desk, corrections
from t4o_tui.engine.readouts import unknown_cards
from t4o_tui.store.models import Entry, Result
from t4o_tui.tui.screens.card_desk import CardDeskScreen
from t4o_tui.tui.screens.confirm import ConfirmScreen
from t4o_tui.tui.screens.readout import ReadoutScreen
from t4o_tui.tui.widgets.live_table import LiveTable


async def open_readout(pilot: Pilot[int], card: str) -> ReadoutScreen:
    await pilot.press("8")
    screen = pilot.app.screen
    assert isinstance(screen, ReadoutScreen)
    unknown = screen.query_one("#unknown-table", LiveTable)
    await until(pilot, lambda: [unknown.text(str(k), "card") for k in unknown.row_keys()] == [card], what="unknown")
    return screen


async def readout_status(pilot: Pilot[int], screen: ReadoutScreen, card: str, status: str) -> None:
    table = screen.query_one("#readout-table", LiveTable)
    unknown = screen.query_one("#unknown-table", LiveTable)

    def shown() -> bool:
        rows = [k for k in table.row_keys() if table.text(str(k), "card") == card]
        return bool(rows) and all(table.text(str(k), "status") == status for k in rows) and not unknown.row_keys()

    await until(pilot, shown, what=f"card {card} read as {status}, not unknown")


@pytest.mark.parametrize("size", SIZES)
def test_unknown_card_assigned_to_its_runner(db, db_path, tmp_path, size):
    entry_id, card, _ = make_unknown(db, db_path, tmp_path)
    name = next(e.name for e in card_desk.desk(db, card).entries if e.entry_id == entry_id)
    app = make_app(db, db_path)

    async def body(pilot: Pilot[int]) -> None:
        screen = await open_readout(pilot, card)
        await pilot.press("tab")  # Unknown cards (Tab, as the other views' lists)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, CardDeskScreen), what="the dialog")
        dialog = app.screen
        assert app.focused is None  # nothing focused: a stray key changes nothing
        assert card in str(dialog.query_one("#dialog-title").render())
        entries = dialog.query_one("#entries", LiveTable)
        assert len(entries.row_keys()) == 8
        # Narrowed as the admin types ("Runner 1" also finds "Club 1"'s runners: every word must match).
        await pilot.press("tab")
        await pilot.press(*name)
        await until(pilot, lambda: str(entry_id) in entries.row_keys() and len(entries.row_keys()) < 8, what="narrowed")
        await pilot.press("enter")  # from the field to the list
        await until(pilot, lambda: entries.has_focus, what="the list focused")
        entries.select_key(str(entry_id))
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ReadoutScreen), what="the dialog closed")
        await readout_status(pilot, screen, card, "OK")
        assert any(f"Card {card}: given" in n for n in app.notes)  # type: ignore[attr-defined]

    run(app, size, body)
    assert Result.get(Result.entry == entry_id).status == "OK"
    assert corrections.runner(db, entry_id).card == card


@pytest.mark.parametrize("size", SIZES)
def test_new_entry_for_an_unknown_card(db, db_path, tmp_path, size):
    _entry_id, card, _ = make_unknown(db, db_path, tmp_path)
    entries = Entry.select().count()
    app = make_app(db, db_path)

    async def body(pilot: Pilot[int]) -> None:
        screen = await open_readout(pilot, card)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, CardDeskScreen), what="the dialog")
        dialog = app.screen
        await pilot.press("ctrl+r")  # nothing typed: the family name and the class are required
        await until(pilot, lambda: dialog.query_one("#field-family").error is not None, what="the field error")
        assert isinstance(app.screen, CardDeskScreen)
        assert dialog.query_one("#field-family Input", Input).has_focus  # the wrong field gets the focus
        await pilot.press(*"Latecomer", "shift+tab", *"Kari")
        klass = dialog.query_one("#field-class Select", Select)
        klass.value = next(str(v) for v in [o[1] for o in klass._options] if v is not Select.NULL)
        dialog.query_one("#field-club Input", Input).value = "Club 1"
        await pilot.press("ctrl+r")
        try:
            await until(pilot, lambda: isinstance(app.screen, ReadoutScreen), what="the dialog closed", timeout=5)
        except AssertionError:
            raise AssertionError((dialog.texts(), [(f.key, f.error) for f in dialog.fields()], app.notes)) from None
        table = screen.query_one("#readout-table", LiveTable)
        await until(pilot, lambda: any(table.text(str(k), "name") == "Kari Latecomer" for k in table.row_keys())
                    and not screen.query_one("#unknown-table", LiveTable).row_keys(), what="the new runner's readout")

    run(app, size, body)
    assert Entry.select().count() == entries + 1
    new = Entry.select().order_by(Entry.id.desc()).first()
    assert corrections.runner(db, new.id).card == card and Result.get(Result.entry == new.id).status


@pytest.mark.parametrize("size", SIZES)
def test_a_card_on_another_entry_asks_before_moving(db, db_path, tmp_path, size):
    entry_id, card, other = make_unknown(db, db_path, tmp_path)
    # The card given to the wrong runner first, then read out again.
    assign_and_process(db, card, other, move=False, who="kari", now=0.0)
    StationData.update(processed_at=None, entry=None, data_status="card not found").where(
        StationData.card_number == card).execute()
    app = make_app(db, db_path)

    async def body(pilot: Pilot[int]) -> None:
        screen = await open_readout(pilot, card)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, CardDeskScreen), what="the dialog")
        dialog = app.screen
        entries = dialog.query_one("#entries", LiveTable)
        entries.focus()
        await pilot.pause()
        entries.select_key(str(entry_id))
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("n")  # keep it there: nothing moved, the dialog still open
        await until(pilot, lambda: app.screen is dialog, what="back in the dialog")
        assert corrections.runner(db, other).card == card
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question again")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ReadoutScreen), what="the dialog closed")
        await readout_status(pilot, screen, card, "OK")

    run(app, size, body)
    assert corrections.runner(db, entry_id).card == card and corrections.runner(db, other).card != card


@pytest.mark.parametrize("size", SIZES)
def test_escape_asks_when_something_was_typed(db, db_path, tmp_path, size):
    _entry_id, card, _ = make_unknown(db, db_path, tmp_path)
    entries = Entry.select().count()
    app = make_app(db, db_path)

    async def body(pilot: Pilot[int]) -> None:
        await open_readout(pilot, card)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, CardDeskScreen), what="the dialog")
        dialog = app.screen
        await pilot.press("ctrl+r")  # no runner chosen: the card goes to nobody (never the first row)
        await until(pilot, lambda: "choose the runner" in str(dialog.query_one("#dialog-error").render()),
                    what="the error")
        assert app.screen is dialog and unknown_cards(db) != []
        await pilot.press("escape")  # nothing typed: closes at once
        await until(pilot, lambda: isinstance(app.screen, ReadoutScreen), what="closed")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, CardDeskScreen), what="the dialog")
        await pilot.press("tab", *"Kari")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("n")  # keep editing
        await until(pilot, lambda: isinstance(app.screen, CardDeskScreen), what="still editing")
        assert app.screen.query_one("#field-given Input", Input).value == "Kari"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ReadoutScreen), what="closed")

    run(app, size, body)
    assert Entry.select().count() == entries  # discarded: nothing saved


def test_assign_key_is_remapped_from_the_config_and_refused_read_only(db, db_path, tmp_path):
    _entry_id, card, _ = make_unknown(db, db_path, tmp_path)
    app = make_app(db, db_path, keys={"readout.assign": "A"})

    async def body(pilot: Pilot[int]) -> None:
        await open_readout(pilot, card)
        # Remapped away: a no longer assigns, A does (and the footer says A).
        bound = {k: b.binding.action for k, b in app.screen.active_bindings.items()}
        assert bound.get("A") == "assign_card" and bound.get("a") != "assign_card"
        await pilot.press("A")
        await until(pilot, lambda: isinstance(app.screen, CardDeskScreen), what="the dialog by the new key")

    run(app, (80, 24), body)

    readonly = make_app(db, db_path, readonly=True)

    async def refused(pilot: Pilot[int]) -> None:
        await open_readout(pilot, card)
        await pilot.press("a")
        await until(pilot, lambda: any("Read-only" in n for n in readonly.notes), what="refused")  # type: ignore[attr-defined]
        assert isinstance(readonly.screen, ReadoutScreen)

    run(readonly, (80, 24), refused)
    assert unknown_cards(db) != []
