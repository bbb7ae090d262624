"""Headless mode (`t4o-tui --worker`): the runtime alone, stopped gracefully by SIGTERM/SIGINT/SIGHUP."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from t4o_tui.config import Config, data_dir_for
from t4o_tui.engine.clock import clock_from_env
from t4o_tui.engine.job import install_jobs
from t4o_tui.engine.runtime import Runtime, RuntimeOptions
from t4o_tui.jobs.registry import REGISTRY
from t4o_tui.share.service import RuntimeShareServer
from t4o_tui.stop_signals import STOP_SIGNALS, received_early
from t4o_tui.store.backend_postgres import redact

log = logging.getLogger("t4o_tui.worker")


def runtime_options(cfg: Config, *, share: bool = True) -> RuntimeOptions:
    return RuntimeOptions(lease=cfg.lease, direct_slots=cfg.direct_slots, retention=cfg.retention, grace=cfg.grace,
                          share=share, share_host=cfg.share_host, share_port=cfg.share_port,
                          share_header_timeout=cfg.share_header_timeout,
                          share_max_per_client=cfg.share_max_connections_per_client,
                          share_max_connections=cfg.share_max_connections)


def run_worker(cfg: Config, db: Any) -> int:
    """Run until a stop signal; exit code 0 after a graceful stop."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal(sig: signal.Signals) -> None:
            log.info("%s received: stopping", sig.name)
            stop.set()

        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, on_signal, sig)
        early = received_early()
        if early is not None:
            log.info("%s received during start-up: stopping", early.name)
            return
        install_jobs(REGISTRY)
        REGISTRY.load_all()  # not in a run's thread, mid-event
        rt = Runtime(db, data_dir=data_dir_for(cfg.db), options=runtime_options(cfg), role="worker", clock=clock_from_env(),
                     share_server=RuntimeShareServer)
        # A server's URL without its password (the journal keeps this line).
        log.info("worker on %s", redact(cfg.db_url) if cfg.db_url else cfg.db)
        await rt.start()
        try:
            await stop.wait()
        finally:
            await rt.stop()

    asyncio.run(main())
    return 0
