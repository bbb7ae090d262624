"""How soon a share link stops answering after `share revoke` in another process.

    python bench/share_revoke.py [-n 10]

A share server on 127.0.0.1 in this process, a link served once, then `t4o-tui share revoke` as a
separate process (as an admin runs it); the time from that process's exit to the first 404.
Prints the median and the maximum. The server re-reads links every REFRESH_S (0.5 s), so the
bound stated in `share revoke --help` is "within a second".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=10, help="how many links to revoke (default 10)")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="t4o-revoke-"))
    os.environ["T4O_TUI_CONFIG"] = str(folder / "config.toml")  # never the developer's own

    import aiohttp

    from t4o_tui.config import data_dir_for
    from t4o_tui.engine.job import install_jobs
    from t4o_tui.engine.runs import enqueue_run, get_run
    from t4o_tui.engine.runtime import Runtime, RuntimeOptions
    from t4o_tui.engine.tasks import create_task
    from t4o_tui.jobs.registry import REGISTRY
    from t4o_tui.share import links
    from t4o_tui.share.server import ShareServer
    from t4o_tui.store.db import open_database

    install_jobs(REGISTRY)  # a bench is an entry point: it hands the engine its jobs
    path = folder / "event.sqlite"
    db = open_database(path)
    create_task("Results", "test", {"seconds": 0, "write_file": True})
    rid = enqueue_run(db, "Results")

    async def produce() -> None:
        rt = Runtime(db, data_dir=data_dir_for(path), options=RuntimeOptions(poll=0.02, scheduler=False))
        await rt.start()
        while (await asyncio.to_thread(get_run, db, rid)).status in ("queued", "running"):
            await asyncio.sleep(0.02)
        await rt.stop()

    asyncio.run(produce())
    db.connect(reuse_if_open=True)
    delays: list[float] = []

    async def measure() -> None:
        server = ShareServer(db, host="127.0.0.1", port=0)
        assert await server.start()
        try:
            async with aiohttp.ClientSession() as s:
                for _ in range(args.n):
                    sh = links.create_share(db, "Results")
                    url = links.share_url(f"http://127.0.0.1:{server.port}", sh.token)
                    while (await s.get(url)).status != 200:
                        await asyncio.sleep(0.02)
                    cmd = [sys.executable, "-m", "t4o_tui", "--db", str(path), "share", "revoke", str(sh.id)]
                    await asyncio.to_thread(subprocess.run, cmd, check=True, capture_output=True)
                    t0 = time.monotonic()
                    while (await s.get(url)).status != 404:
                        await asyncio.sleep(0.005)
                    delays.append(time.monotonic() - t0)
        finally:
            await server.stop()

    asyncio.run(measure())
    print(f"share revoke -> 404, {len(delays)} links: median {statistics.median(delays):.3f} s, "
          f"max {max(delays):.3f} s")


if __name__ == "__main__":
    main()
