"""Share load: a results page served through a share link to 100 concurrent clients on loopback.

    python bench/share_load.py [-c 100] [-n 10000] [-d 3] [--repeat 4]
                               [--only share,ceiling,share-304,ceiling-304,ceiling-app]
                               [--client auto|wrk|python] [--threads 1] [--tmp DIR] [--profile FILE]

About 90 s on 2 cores with the defaults. Needs `wrk` (`apt-get install wrk`) for the load;
without it (or with `--client python`) a Python load generator runs in its own process (aiohttp
ClientSession, TCPConnector(limit=c)), which is slower than the servers, so its ratios say less.

Set-up (in the parent, on a fresh database in a fresh temporary folder): a task of the Test job
with `write_file`, run once through the real `Runtime`; its file is then replaced with a ~45 KB
HTML results page (classes, runners, clubs, times) and its artifact row updated (size, name
`results.html`, `text/html`); a plain share link (no run-task) to the task.

Servers, each kind in its own process, listening on 127.0.0.1 (ephemeral ports) for the whole
run; only one is loaded at a time:

  share        the real `ShareServer` (port 0) in its own event loop, logging set up as
               `t4o-tui --worker` does (the `t4o_tui` logger at INFO, the same formatter) into a
               file: its access log (one line per request) is part of the cost. Every request goes
               through the token check (format, hash lookup, constant-time compare), revocation,
               expiry, the hit count (in memory, written every 5 s and on stop) and the ETag.
  ceilings     one process, three listeners, no logic and no access log: aiohttp's low-level
               server (`web.Server`) answering every request with the same bytes from memory
               (`web.Response(body=PAGE, content_type="text/html")`), another answering a bare
               304, and a `web.Application` with one route answering the same bytes (the usual way
               to write an aiohttp server: its router included).

Variants (each: c connections, keep-alive, a 1 s warm-up, then at least -d seconds and -n
requests; the duration is stretched from the warm-up rate when -n needs it):

  share        GET /s/<token>: 200 with the page
  share-304    the same with `If-None-Match: <its ETag>`: 304, what a browser refreshing a
               results page mostly sends (Cache-Control: no-cache)
  ceiling      the same bytes from the low-level server: the ceiling of the aim
  ceiling-304  a bare 304 from the low-level server
  ceiling-app  the same bytes from the Application (for reference)

The variants run interleaved, `--repeat` times, each share variant next to its ceiling (every
other repeat in reverse order). Ratios: share / ceiling and share-304 / ceiling-304 (the aim:
0.80), share / ceiling-app and share-304 / ceiling for reference: of the median requests per
second; "paired", the median of the per-repeat ratios (less moved by other load on the
machine); "cpu", the ceiling's server CPU time per request over the share's (what a request
costs the server, whoever is faster at sending them).

Check after the load: the server is stopped (it writes its pending hit counts on stop); the
share's `hits` in the database must equal the number of share requests the server answered
(counted from its access log), and every share request must have been answered 200 or 304
(wrk's non-2xx/3xx and socket errors are 0). The load client's completed count can be a little
lower than the server's (wrk stops with up to c requests in flight), never higher.

`--profile FILE` records the loaded server with py-spy during the first measured run of each
variant, into FILE with the variant's name added (FILE.svg: flame graph, FILE.txt: collapsed
stacks, else speedscope JSON); py-spy slows the server it samples, so those runs' figures are
lower. The last line of output is one JSON object with every figure and check.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ALL_VARIANTS = ["share", "ceiling", "share-304", "ceiling-304", "ceiling-app"]
WARMUP_S = 1.0
PROFILE_FORMATS = {".svg": "flamegraph", ".txt": "raw"}  # else speedscope

WRK_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"err_connect":%d,"err_read":%d,' ..
    '"err_write":%d,"err_status":%d,"err_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


# ---------------------------------------------------------------------------------------------------
# set-up: database, task, run, results page, share link
# ---------------------------------------------------------------------------------------------------
def results_page(target: int = 45_000) -> bytes:
    """A deterministic HTML results page of about `target` bytes: classes of runners with times."""
    rnd = random.Random(2024)
    first = ["Anna", "Erik", "Maja", "Lars", "Sofia", "Jonas", "Ida", "Nils", "Elin", "Oskar", "Karin", "Per"]
    last = ["Andersson", "Berg", "Carlsson", "Dahl", "Eklund", "Forsberg", "Holm", "Lind", "Nyström", "Sjöberg"]
    clubs = ["OK Linné", "IFK Göteborg", "Järla IF", "Tullinge SK", "OK Ravinen", "Stora Tuna OK", "Halden SK"]
    head = (
        '<!DOCTYPE html>\n<html lang="sv"><head><meta charset="utf-8"><title>Results - Night Sprint</title>\n'
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{padding:2px 6px}"
        "tr:nth-child(even){background:#eee}.t{text-align:right}</style></head><body>\n"
        "<h1>Night Sprint - results</h1>\n"
    )
    parts = [head]
    size = len(head.encode())
    n_class = 0
    while size < target:
        n_class += 1
        cls = f"<h2 id=\"c{n_class}\">{rnd.choice('HD')}{rnd.choice([10, 12, 14, 16, 21, 35, 45, 55])}</h2>\n"
        rows = ['<table><tr><th>#</th><th>Name</th><th>Club</th><th class="t">Time</th><th class="t">Behind</th></tr>\n']
        best = rnd.randint(600, 1500)
        t = best
        for place in range(1, rnd.randint(15, 45)):
            t += rnd.randint(0, 40)
            rows.append(
                f'<tr><td>{place}</td><td>{rnd.choice(first)} {rnd.choice(last)}</td><td>{rnd.choice(clubs)}</td>'
                f'<td class="t">{t // 60}:{t % 60:02d}</td><td class="t">+{(t - best) // 60}:{(t - best) % 60:02d}</td></tr>\n'
            )
        rows.append("</table>\n")
        chunk = cls + "".join(rows)
        parts.append(chunk)
        size += len(chunk.encode())
    parts.append("<p>Updated by t4o-tui.</p></body></html>\n")
    return "".join(parts).encode()


def setup(folder: Path) -> dict[str, Any]:
    """Fresh database, the Test task run once, its file replaced by the page; a share link."""
    import logging

    from _jobs import run_job  # it hands the engine its jobs, as an entry point does

    from t4o_tui.share import links
    from t4o_tui.store.db import open_database
    from t4o_tui.store.models import Artifact

    logging.getLogger("t4o_tui").setLevel(logging.WARNING)
    db_path = folder / "event.sqlite"
    db = open_database(db_path)
    run, _ = run_job(db, db_path, "test", {"seconds": 0, "write_file": True}, name="Results")
    art = Artifact.get(Artifact.run == run.id)
    page = results_page()
    Path(art.path).write_bytes(page)
    art.size, art.name, art.media_type = len(page), "results.html", "text/html"
    art.save()
    share = links.create_share(db, "Results")
    page_file = folder / "page.html"
    page_file.write_bytes(page)
    out = {"db": str(db_path), "token": share.token, "share_id": share.id, "page_bytes": len(page),
           "page_file": str(page_file), "artifact_path": art.path}
    db.close()
    return out


# ---------------------------------------------------------------------------------------------------
# servers (child processes)
# ---------------------------------------------------------------------------------------------------
def child_share(db_path: str) -> None:
    """The real ShareServer, logging as `t4o-tui --worker` (to stderr, which the parent sends to a file)."""
    import asyncio

    from t4o_tui.cli import _setup_logging
    from t4o_tui.share.server import ShareServer
    from t4o_tui.store.db import open_database

    _setup_logging(False)
    db = open_database(db_path)

    async def main() -> None:
        server = ShareServer(db, host="127.0.0.1", port=0)
        if not await server.start():
            raise SystemExit(server.error)
        print(json.dumps({"port": server.port, "pid": os.getpid()}), flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # the parent says when to stop
        await server.stop()  # writes the pending hit counts
        print(json.dumps({"stopped": True, "unflushed": sum(h.count for h in server._hits.values())}), flush=True)

    asyncio.run(main())


def child_ceiling(page_file: str) -> None:
    """The same HTTP library answering the same bytes from memory: no logic, no access log.

    Three listeners: aiohttp's low-level server answering the page (`ceiling`) or a bare 304
    (`ceiling-304`) to every request, and a `web.Application` with one route answering the page
    (`ceiling-app`: the usual way to write an aiohttp server, router included).
    """
    import asyncio

    from aiohttp import web

    page = Path(page_file).read_bytes()

    async def ok(request: web.BaseRequest) -> web.Response:
        return web.Response(body=page, content_type="text/html")

    async def not_modified(request: web.BaseRequest) -> web.Response:
        return web.Response(status=304)

    async def listen(runner: web.BaseRunner) -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, reuse_address=True)
        await site.start()
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/page", ok)
        runners = {
            "ceiling": web.ServerRunner(web.Server(ok, access_log=None), handle_signals=False),
            "ceiling-304": web.ServerRunner(web.Server(not_modified, access_log=None), handle_signals=False),
            "ceiling-app": web.AppRunner(app, access_log=None, handle_signals=False),
        }
        ports = {name: await listen(r) for name, r in runners.items()}
        print(json.dumps({"ports": ports, "pid": os.getpid()}), flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        for r in runners.values():
            await r.cleanup()

    asyncio.run(main())


def start_server(kind: str, arg: str, stderr_path: Path) -> tuple[subprocess.Popen[str], dict[str, Any], Any]:
    err = open(stderr_path, "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, str(HERE), "--child", kind, "--arg", arg],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(10)
        err.close()
        raise SystemExit(f"{kind} server did not start:\n{stderr_path.read_text()[-3000:]}")
    return proc, json.loads(line), err


def stop_server(proc: subprocess.Popen[str], err: Any) -> dict[str, Any]:
    out, _ = proc.communicate("stop\n", timeout=30)
    err.close()
    lines = [x for x in out.splitlines() if x.strip()]
    return json.loads(lines[-1]) if lines else {}


# ---------------------------------------------------------------------------------------------------
# load clients
# ---------------------------------------------------------------------------------------------------
def run_wrk(url: str, conns: int, threads: int, seconds: float, headers: dict[str, str], lua: Path) -> dict[str, Any]:
    cmd = ["wrk", "-t", str(threads), "-c", str(conns), "-d", f"{max(1, round(seconds))}s", "--timeout", "10s",
           "-s", str(lua)]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    proc = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"^WRKJSON (.*)$", proc.stdout, re.M)
    if proc.returncode != 0 or m is None:
        raise SystemExit(f"wrk failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}")
    r = json.loads(m.group(1))
    dur = r["duration_us"] / 1e6
    return {
        "requests": r["requests"], "seconds": dur, "rps": r["requests"] / dur,
        "p50_ms": r["p50_us"] / 1000, "p90_ms": r["p90_us"] / 1000, "p99_ms": r["p99_us"] / 1000,
        "max_ms": r["max_us"] / 1000, "mb_s": r["bytes"] / dur / 1e6,
        "errors": r["err_connect"] + r["err_read"] + r["err_write"] + r["err_timeout"],
        "bad_status": r["err_status"],
    }


def child_pyload(spec: str) -> None:
    """Python load generator: c workers on one ClientSession(TCPConnector(limit=c)) for `seconds`."""
    import asyncio

    import aiohttp

    cfg = json.loads(spec)
    lat: list[float] = []
    counts = {"requests": 0, "bytes": 0, "errors": 0, "bad_status": 0}

    async def main() -> float:
        conn = aiohttp.TCPConnector(limit=cfg["conns"], force_close=False)
        async with aiohttp.ClientSession(connector=conn, headers=cfg["headers"]) as s:
            end = time.perf_counter() + cfg["seconds"]

            async def worker() -> None:
                while time.perf_counter() < end:
                    t0 = time.perf_counter()
                    try:
                        async with s.get(cfg["url"]) as r:
                            body = await r.read()
                            if r.status >= 400:
                                counts["bad_status"] += 1
                    except aiohttp.ClientError:
                        counts["errors"] += 1
                        continue
                    lat.append(time.perf_counter() - t0)
                    counts["requests"] += 1
                    counts["bytes"] += len(body)

            t0 = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(cfg["conns"])))
            return time.perf_counter() - t0

    dur = asyncio.run(main())
    lat.sort()

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000 if lat else float("nan")

    print(json.dumps({
        "requests": counts["requests"], "seconds": dur, "rps": counts["requests"] / dur,
        "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99), "max_ms": lat[-1] * 1000 if lat else float("nan"),
        "mb_s": counts["bytes"] / dur / 1e6, "errors": counts["errors"], "bad_status": counts["bad_status"],
    }))


def run_python(url: str, conns: int, seconds: float, headers: dict[str, str]) -> dict[str, Any]:
    spec = json.dumps({"url": url, "conns": conns, "seconds": seconds, "headers": headers})
    proc = subprocess.run([sys.executable, str(HERE), "--child", "pyload", "--arg", spec],
                          capture_output=True, text=True, timeout=seconds + 120)
    if proc.returncode != 0:
        raise SystemExit(f"python load client failed: {proc.stderr[-3000:]}")
    res: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return res


# ---------------------------------------------------------------------------------------------------
# parent
# ---------------------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def served_from_log(log_path: Path) -> dict[str, int]:
    """Share requests the server answered, by status, from its access log (one line per request)."""
    counts: dict[str, int] = {}
    pattern = re.compile(r'"(?:GET|HEAD) /s/\S* (\d{3}) ')
    with open(log_path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            m = pattern.search(line)
            if m:
                counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts


def _fmt_cpu(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}"


def _fmt_pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-c", "--connections", type=int, default=100, help="concurrent connections (default 100)")
    ap.add_argument("-n", "--requests", type=int, default=10_000, help="at least this many requests per measured run")
    ap.add_argument("-d", "--duration", type=float, default=3.0, help="at least this many seconds per measured run")
    ap.add_argument("--repeat", type=int, default=4, help="repeats of every variant, interleaved (default 4)")
    ap.add_argument("--only", default=",".join(ALL_VARIANTS), help="comma-separated variants (default: all)")
    ap.add_argument("--client", choices=["auto", "wrk", "python"], default="auto",
                    help="load generator: wrk if installed (auto), or the Python one")
    ap.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: one core for wrk, one for the server)")
    ap.add_argument("--tmp", default=None, help="parent folder for the temporary database (default: system temp)")
    ap.add_argument("--profile", default=None, metavar="FILE", help="py-spy the server during the first measured run of each variant")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--arg", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child == "share":
        child_share(args.arg)
        return 0
    if args.child == "ceiling":
        child_ceiling(args.arg)
        return 0
    if args.child == "pyload":
        child_pyload(args.arg)
        return 0

    variants = [v for v in args.only.split(",") if v]
    for v in variants:
        if v not in ALL_VARIANTS:
            ap.error(f"unknown variant {v} (known: {', '.join(ALL_VARIANTS)})")
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    elif client == "wrk" and not shutil.which("wrk"):
        ap.error("wrk is not installed (apt-get install wrk), use --client python")
    wrk_version = ""
    if client == "wrk":
        v = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
        wrk_version = (v.stdout or v.stderr).split("\n")[0].strip()
    import aiohttp

    conns = args.connections
    print(
        f"share load: {conns} connections, >= {args.requests} requests and >= {args.duration:g} s per run, "
        f"{args.repeat} repeat(s); client {client}{' (' + wrk_version + ', ' + str(args.threads) + ' thread)' if wrk_version else ''}; "
        f"python {sys.version.split()[0]}, aiohttp {aiohttp.__version__}, {os.cpu_count()} cpu(s)",
        flush=True,
    )
    t_all = time.perf_counter()
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory(prefix="sharebench-", dir=args.tmp) as tmp:
        folder = Path(tmp)
        info = setup(folder)
        share_log = folder / "share-server.log"
        share_proc, share_meta, share_err = start_server("share", info["db"], share_log)
        ceil_proc, ceil_meta, ceil_err = start_server("ceiling", info["page_file"], folder / "ceiling.log")
        share_url = f"http://127.0.0.1:{share_meta['port']}/s/{info['token']}"
        lua = folder / "report.lua"
        lua.write_text(WRK_LUA)
        client_completed = 0  # share requests the load client saw answered (warm-ups included)
        profiled: set[str] = set()
        try:
            # Pre-flight: the share answers 200 with the page and a 304 to its ETag.
            import urllib.request

            with urllib.request.urlopen(share_url, timeout=10) as r:
                body, etag = r.read(), r.headers["ETag"]
                ctype = r.headers["Content-Type"]
            client_completed += 1
            if body != Path(info["page_file"]).read_bytes():
                raise SystemExit("pre-flight: the share does not serve the page")
            print(f"page {info['page_bytes']:,} bytes, {ctype}, ETag {etag}; share server pid {share_meta['pid']}, "
                  f"ceiling pid {ceil_meta['pid']}", flush=True)
            targets = {
                "share": (share_url, {}),
                "share-304": (share_url, {"If-None-Match": etag}),
                **{name: (f"http://127.0.0.1:{port}/page", {}) for name, port in ceil_meta["ports"].items()},
            }

            def load(url: str, headers: dict[str, str], seconds: float) -> dict[str, Any]:
                if client == "wrk":
                    return run_wrk(url, conns, args.threads, seconds, headers, lua)
                return run_python(url, conns, seconds, headers)

            for rep in range(args.repeat):
                # Each share variant next to its ceiling; every other repeat in reverse order.
                for v in variants if rep % 2 == 0 else variants[::-1]:
                    url, headers = targets[v]
                    warm = load(url, headers, WARMUP_S)
                    seconds = max(args.duration, 1.15 * args.requests / max(warm["rps"], 1.0))
                    pid = share_meta["pid"] if v.startswith("share") else ceil_meta["pid"]
                    spy = None
                    if args.profile and v not in profiled:
                        out = Path(args.profile)
                        spy = subprocess.Popen(
                            ["py-spy", "record", "--pid", str(pid), "-o", str(out.with_name(f"{out.stem}-{v}{out.suffix}")),
                             "-f", PROFILE_FORMATS.get(out.suffix, "speedscope"), "-d", str(max(1, int(seconds) - 1)),
                             "-r", "1000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                        )
                        profiled.add(v)
                    cpu0 = cpu_seconds(pid)
                    res = load(url, headers, seconds)
                    cpu1 = cpu_seconds(pid)
                    res["server_cpu_us"] = ((cpu1 - cpu0) * 1e6 / res["requests"]
                                            if cpu0 is not None and cpu1 is not None and res["requests"] else None)
                    res["server_cpu_share"] = ((cpu1 - cpu0) / res["seconds"]
                                               if cpu0 is not None and cpu1 is not None else None)
                    if spy is not None:
                        _, spy_err = spy.communicate(timeout=60)
                        if spy.returncode != 0:
                            print(f"py-spy failed: {spy_err.strip()[-500:]}", file=sys.stderr)
                    if v.startswith("share"):
                        client_completed += warm["requests"] + res["requests"]
                    res["warmup_requests"] = warm["requests"]
                    results[v].append(res)
                    print(
                        f"  repeat {rep + 1}/{args.repeat} {v:<11} {res['rps']:>8,.0f} req/s  p50 {res['p50_ms']:6.2f} ms  "
                        f"p99 {res['p99_ms']:6.2f} ms  {res['requests']:>7,} requests in {res['seconds']:.1f} s  "
                        f"server {_fmt_cpu(res['server_cpu_us'])} CPU us/req, {_fmt_pct(res['server_cpu_share'])} of a core"
                        f"{'  ERRORS ' + str(res['errors']) if res['errors'] else ''}"
                        f"{'  BAD STATUS ' + str(res['bad_status']) if res['bad_status'] else ''}",
                        flush=True,
                    )
        finally:
            share_stop = stop_server(share_proc, share_err)
            stop_server(ceil_proc, ceil_err)

        conn = sqlite3.connect(info["db"])
        db_hits = conn.execute("SELECT hits FROM share WHERE id = ?", (info["share_id"],)).fetchone()[0]
        conn.close()
        served = served_from_log(share_log)
        log_bytes = share_log.stat().st_size

    summary: dict[str, dict[str, Any]] = {}
    for v, runs in results.items():
        s: dict[str, Any] = {}
        for key in ("rps", "p50_ms", "p90_ms", "p99_ms", "max_ms", "mb_s"):
            s[key] = statistics.median(x[key] for x in runs)
        cpu = [x["server_cpu_us"] for x in runs if x.get("server_cpu_us") is not None]
        s["server_cpu_us"] = statistics.median(cpu) if cpu else None
        s["rps_best"] = max(x["rps"] for x in runs)
        s["requests_min"] = min(x["requests"] for x in runs)
        s["errors"] = sum(x["errors"] + x["bad_status"] for x in runs)
        summary[v] = s

    labels = {
        "share": "share link GET: 200 + page (token, revocation, expiry, hit, ETag, access log)",
        "share-304": "share link GET with If-None-Match: 304 (a browser refresh)",
        "ceiling": "aiohttp low-level server: the same bytes from memory, no logic, no access log",
        "ceiling-304": "aiohttp low-level server: a bare 304, no logic, no access log",
        "ceiling-app": "aiohttp Application, one route: the same bytes, no logic, no access log",
    }
    print()
    print(f"{'variant':<12} {'req/s':>8} {'best':>8} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7} "
          f"{'MB/s':>6} {'cpu us':>6} {'min n':>7} {'errors':>6}  what")
    for v, s in summary.items():
        print(f"{v:<12} {s['rps']:>8,.0f} {s['rps_best']:>8,.0f} {s['p50_ms']:>7.2f} {s['p90_ms']:>7.2f} "
              f"{s['p99_ms']:>7.2f} {s['max_ms']:>7.1f} {s['mb_s']:>6.0f} {_fmt_cpu(s['server_cpu_us']):>6} {s['requests_min']:>7,} {s['errors']:>6}  {labels[v]}")
    print(f"(median of {args.repeat} repeat(s); best = highest req/s; cpu us = server process CPU time per request; "
          f"min n = fewest requests in a measured run; {conns} connections, client {client})")
    if client == "python":
        print("(the Python client is slower than these servers: req/s are its own limit, the cpu ratio says more)")

    ratios: dict[str, float] = {}
    pairs = [("share", "ceiling"), ("share-304", "ceiling-304"), ("share", "ceiling-app"), ("share-304", "ceiling")]
    for a, b in pairs:
        if a not in summary or b not in summary:
            continue
        key = f"{a}/{b}"
        ratios[key] = summary[a]["rps"] / summary[b]["rps"]
        # Each repeat runs a and b back to back: their ratio is less moved by other load on the machine.
        ratios[key + ":paired"] = statistics.median(x["rps"] / y["rps"] for x, y in zip(results[a], results[b], strict=True))
        ratios[key + ":p99"] = summary[a]["p99_ms"] / summary[b]["p99_ms"]
        if summary[a]["server_cpu_us"] and summary[b]["server_cpu_us"]:
            ratios[key + ":cpu"] = summary[b]["server_cpu_us"] / summary[a]["server_cpu_us"]
    if ratios:
        print()
        print("ratios, a/b (req/s: 0.80 and above meets the aim; paired: median of the per-repeat ratios;")
        print("cpu: b's server CPU per request / a's, the capacity ratio; p99: below 1 is faster)")
        for a, b in pairs:
            key = f"{a}/{b}"
            if key in ratios:
                aim = "" if key in ("share-304/ceiling", "share/ceiling-app") else (
                    "  aim met" if ratios[key] >= 0.8 else "  below the 80 % aim")
                cpu = f"{ratios[key + ':cpu']:5.2f}" if key + ":cpu" in ratios else "    -"
                print(f"  {key:<22} req/s {ratios[key]:5.2f}   paired {ratios[key + ':paired']:5.2f}   cpu {cpu}   "
                      f"p99 {ratios[key + ':p99']:5.2f}{aim}")

    answered = sum(served.values())
    ok_status = served.get("200", 0) + served.get("304", 0)
    in_flight_max = conns * 2 * args.repeat * sum(1 for v in variants if v.startswith("share"))
    errors = sum(s["errors"] for s in summary.values())
    enough = all(s["requests_min"] >= args.requests for s in summary.values())
    check = {
        "db_hits": db_hits, "served_by_server": answered, "served_by_status": served,
        "client_completed": client_completed, "unflushed_after_stop": share_stop.get("unflushed"),
        "access_log_bytes": log_bytes, "client_errors": errors, "enough_requests": enough,
        "ok": (db_hits == answered == ok_status and client_completed <= answered <= client_completed + in_flight_max
               and errors == 0 and enough and share_stop.get("unflushed") == 0),
    }
    print()
    print(
        f"check: {'OK' if check['ok'] else 'FAILED'} - share hits in the database after stop {db_hits:,}; "
        f"share requests answered by the server (access log) {answered:,} ({', '.join(f'{k}: {n:,}' for k, n in sorted(served.items()))}); "
        f"completed at the client {client_completed:,} (the rest were in flight when a run ended); "
        f"client errors {errors}; every measured run >= {args.requests:,} requests: {'yes' if enough else 'NO'}; "
        f"access log {log_bytes / 1e6:.1f} MB"
    )
    total = time.perf_counter() - t_all
    print(f"\ntotal {total:.1f} s")
    print(json.dumps({
        "connections": conns, "min_requests": args.requests, "duration": args.duration, "repeat": args.repeat,
        "client": client, "wrk": wrk_version or None, "threads": args.threads if client == "wrk" else None,
        "page_bytes": info["page_bytes"], "summary": summary, "ratios": ratios, "check": check, "runs": results,
        "total_s": total,
    }, default=str))
    return 0 if check["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
