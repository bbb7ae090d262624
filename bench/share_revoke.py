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
    from _jobs import run_job  # after T4O_TUI_CONFIG is set: it hands the engine its jobs

    from t4o_tui.share import links
    from t4o_tui.share.server import ShareServer
    from t4o_tui.store.db import open_database

    path = folder / "event.sqlite"
    db = open_database(path)
    run_job(db, path, "test", {"seconds": 0, "write_file": True}, name="Results")  # the file the links serve
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
