"""The share server as a runtime starts it: entry points pass `RuntimeShareServer` to `Runtime`
(the engine does not import this package, which imports the engine)."""

from __future__ import annotations

import asyncio
import contextlib

from t4o_tui.engine.runtime import Runtime
from t4o_tui.share import serving
from t4o_tui.share.server import ShareServer


class RuntimeShareServer(ShareServer):
    """A share server with the runtime's address, clock and options; while it listens, its address
    is recorded so that links printed by other processes (share add, shares) point at it."""

    def __init__(self, rt: Runtime) -> None:
        opt = rt.opt
        super().__init__(rt.db, host=opt.share_host, port=opt.share_port, clock=rt.clock, notify=rt.notify,
                         header_timeout=opt.share_header_timeout, max_per_client=opt.share_max_per_client,
                         max_connections=opt.share_max_connections)
        self.worker, self.role = rt.worker_id, rt.role
        self.connection = rt.connection

    async def start(self) -> bool:
        if not await super().start():
            return False
        await asyncio.to_thread(serving.record, self.db, worker=self.worker, role=self.role,
                                host=self.host, port=self.port, now=self.clock.now())
        return True

    async def stop(self) -> None:
        await super().stop()
        with contextlib.suppress(Exception):  # unremoved, it ends with this process's presence lease
            await asyncio.to_thread(serving.clear, self.db, self.worker)
