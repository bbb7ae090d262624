"""How long a CLI command takes from start to exit, beside the interpreter's own start.

    python bench/command_start.py [-n 15] [--python PATH]

Runs each command N times as a separate process (`python -m t4o_tui --db FILE ...`) on a fresh
SQLite file holding one task of the Test job, and prints the median wall and CPU time of each, and
its ratio to the floor: `python -c pass` measured in the same run. Run it with the interpreter of
an installed copy (a virtualenv from `pip install .`): an editable install under
PYTHONDONTWRITEBYTECODE compiles every module on every start and measures that instead.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from time import perf_counter


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `cmd` (which must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    wall = perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=15, help="runs of each command (default 15)")
    ap.add_argument("--python", default=sys.executable, help="the interpreter whose t4o-tui is measured")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="t4o-start-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("T4O_TUI_")}
    env["T4O_TUI_CONFIG"] = str(folder / "config.toml")  # never the developer's own
    db = str(folder / "event.sqlite")
    t4o = [args.python, "-m", "t4o_tui", "--db", db]
    subprocess.run([*t4o, "task", "add", "T", "--job", "test", "--set", "seconds=0"], check=True, capture_output=True,
                   env=env, cwd=folder)
    commands: dict[str, list[str] | None] = {
        "floor (python -c pass)": [args.python, "-c", "pass"],
        "race list": [*t4o, "race", "list"],
        "tasks": [*t4o, "tasks"],
        "task add": None,  # a new name each time
        "run T --wait": [*t4o, "run", "T", "--wait"],
    }
    figures: dict[str, dict[str, float]] = {}
    for label, cmd in commands.items():
        runs = []
        for i in range(args.n):
            runs.append(timed(cmd or [*t4o, "task", "add", f"T{i}", "--job", "test", "--set", "seconds=0"], env))
        figures[label] = {"wall_ms": statistics.median(w for w, _ in runs) * 1000,
                          "cpu_ms": statistics.median(c for _, c in runs) * 1000}
    floor = figures["floor (python -c pass)"]["wall_ms"]
    print(f"{'command':<24} {'wall ms':>8} {'CPU ms':>8} {'x floor':>8}   (median of {args.n})")
    for label, f in figures.items():
        f["ratio"] = f["wall_ms"] / floor
        print(f"{label:<24} {f['wall_ms']:>8.0f} {f['cpu_ms']:>8.0f} {f['ratio']:>8.1f}")
    print(json.dumps({"bench": "command_start", "n": args.n, "figures": figures}))


if __name__ == "__main__":
    main()
