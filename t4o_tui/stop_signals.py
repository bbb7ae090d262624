"""Stop signals that arrive while a headless worker is still starting.

Importing the engine, opening the database and building the demo take a moment; a SIGTERM in that
window (systemd stopping a service that just started, a test) would otherwise kill the process by
signal (exit 143). `catch_early` is called first thing by the CLI; the worker's own handlers take
over once its event loop runs and stop at once if a signal came before. Kept free of imports so
it can be installed before anything heavy loads.
"""

from __future__ import annotations

import signal

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_received: list[signal.Signals] = []


def catch_early() -> None:
    """Note stop signals instead of dying of them, until the worker installs its own handlers."""

    def note(signum: int, _frame: object) -> None:
        _received.append(signal.Signals(signum))

    for sig in STOP_SIGNALS:
        signal.signal(sig, note)


def received_early() -> signal.Signals | None:
    """The first stop signal noted before the worker's handlers were installed, if any."""
    return _received[0] if _received else None
