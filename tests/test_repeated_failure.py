"""A failure that lasts (a full disk, a database locked for minutes) is said once, then counted
once a minute, and its end said once: the worker's log stays readable (engine/connection.py)."""

from __future__ import annotations

import logging

import pytest

from t4o_tui.engine.connection import RepeatedFailure


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def said(caplog):
    caplog.set_level(logging.WARNING, logger="t4o_tui.engine")
    return lambda: [r.getMessage() for r in caplog.records]


def test_a_failure_each_second_for_three_minutes_is_said_once_then_once_a_minute(said):
    clock = Clock()
    failing = RepeatedFailure("queue lane", clock=clock)
    full = [failing.failed("OperationalError: database or disk is full")]
    for _ in range(179):
        clock.t += 1.0
        full.append(failing.failed("OperationalError: database or disk is full"))
    assert full[0] is True and not any(full[1:])  # the caller says the first in full, no other
    assert said() == ["queue lane: still failing (OperationalError: database or disk is full): 60 more tries in the last 60 s"] * 2
    clock.t += 1.0
    failing.ok()
    assert said()[-1] == "queue lane: works again after 180 failed tries in 180 s"
    # Then forgotten: the next failure is a new one, said in full; an ok after one failure says nothing.
    assert failing.failed("OperationalError: database or disk is full") is True
    failing.ok()
    assert len(said()) == 3


def test_a_different_failure_is_said_at_once(said):
    clock = Clock()
    failing = RepeatedFailure("supervisor step", clock=clock)
    assert failing.failed("OperationalError: database is locked") is True
    clock.t += 1
    assert failing.failed("OperationalError: database is locked") is False
    clock.t += 1
    assert failing.failed("OperationalError: database or disk is full") is True
    assert said() == []  # nothing a minute old yet to count
    failing.ok()  # the count starts again with the new failure: one try, nothing to say
    assert said() == []
