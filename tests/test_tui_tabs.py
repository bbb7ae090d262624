"""The view tabs (issue 17, "80×24 reads"): every number key's view is a tab, Readout (8) and In
forest (9) too; at 80 columns only the current one is named, at 160 all are, with the status text
beside them in full."""

from __future__ import annotations

import pytest
from test_tui import LARGE, SMALL, scenario, until
from textual.pilot import Pilot

from t4o_tui.tui.app import VIEWS, T4oApp
from t4o_tui.tui.screens.view import ViewScreen
from t4o_tui.tui.widgets.header import TITLE_ROOM, NavLine

TABS = " ".join(f" {k} {name} " for k, (_, name) in enumerate(VIEWS, start=1))


def showing(app: T4oApp) -> str | None:
    return app.screen.VIEW if isinstance(app.screen, ViewScreen) else None


def test_every_number_key_is_a_tab_with_a_short_name():
    assert [m for m, _ in VIEWS][7:] == ["readout", "forest"]
    assert all(len(label) <= 12 for _, label in VIEWS)
    # At 160 columns all are named and the status text keeps its room.
    assert 1 + sum(len(label) + 4 for _, label in VIEWS) + TITLE_ROOM <= LARGE[0]


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x50"])
def test_tabs_name_the_current_view_and_fit(db, db_path, size):
    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        for n, (mode, label) in enumerate(VIEWS, start=1):
            await pilot.press(str(n))
            await until(pilot, lambda: showing(app) == mode, what=f"view {n}")  # noqa: B023 - awaited here
            screen = app.screen
            assert isinstance(screen, ViewScreen)
            nav = screen.query_one(NavLine)
            await until(pilot, lambda: bool(screen.poll_timings), what=f"{label}'s first load")  # noqa: B023 - awaited here
            line = nav.render().plain
            assert f" {n} {label} " in line  # the current one, named
            if size == LARGE:  # all named when the status text fits beside them; the status text in full
                assert line.startswith(" " + TABS) == (len(TABS) + 4 + len(nav.title) <= size[0]), line
                assert len(line) <= size[0], f"{mode}: the status text runs off: {line!r}"
                # A long status text (a race's name, its class, counts) keeps its room: numbers only.
                nav.set_title("Middle distance, 2030-06-01 · race 1/2 · Classes [Entries] Courses · 312")
                line = nav.render().plain
                assert line.endswith(nav.title) and len(line) <= size[0]
                assert all(name not in line for m, name in VIEWS if m != mode)
                assert f" {n} {label} " in line
            else:
                others = [str(k) for k in range(1, len(VIEWS) + 1) if k != n]
                assert all(f" {k} " in f" {line} " for k in others)  # by number only
                assert all(name not in line for m, name in VIEWS if m != mode)
        # [ and ] go round all of them, Readout and In forest included.
        await pilot.press("right_square_bracket")
        assert showing(app) == "dashboard"
        await pilot.press("left_square_bracket")
        assert showing(app) == "forest"

    scenario(db, db_path, body, size=size)


def test_the_footer_of_a_new_view_restyles_none_of_its_keys(db, db_path):
    """Textual's FooterKey is born compact and then bound to its footer's `compact` (off): each key
    was restyled once mounted, every time a footer was composed (a tenth of a view switch's CPU).
    t4o_tui.tui.widgets.footer gives the keys the footer's value first: nothing left to restyle."""
    from textual.widgets._footer import FooterKey

    restyled: list[str] = []

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        update_styles = app.update_styles

        def recording(node=None, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202 - Textual's own signature
            if isinstance(node, FooterKey):
                restyled.append(node.key)
            return update_styles(node, *args, **kwargs)

        app.update_styles = recording  # type: ignore[method-assign]
        for key in ("2", "3", "1"):
            await pilot.press(key)
            await until(pilot, lambda key=key: showing(app) == VIEWS[int(key) - 1][0], what=f"view {key}")
            await until(pilot, lambda: len(app.screen.query(FooterKey)) > 0, what="the footer's keys")
            await pilot.pause(0.2)
        keys = app.screen.query(FooterKey)
        assert keys and all(not k.has_class("-compact") for k in keys)  # the look: not compact

    scenario(db, db_path, body, size=LARGE)
    assert restyled == []
