"""The linter and the type checker are part of the suite, so the one test command runs them too."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import ROOT


@pytest.mark.parametrize(
    "cmd",
    [
        [sys.executable, "-m", "ruff", "check", "t4o_tui", "tests", "bench"],
        [sys.executable, "-m", "mypy"],
    ],
    ids=["ruff", "mypy"],
)
def test_clean(cmd):
    if shutil.which(cmd[2]) is None and subprocess.run([sys.executable, "-c", f"import {cmd[2]}"]).returncode:
        pytest.skip(f"{cmd[2]} is not installed (pip install '.[test]')")
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr


def test_layers_only_the_tui_imports_textual():
    offenders = []
    for path in (ROOT / "t4o_tui").rglob("*.py"):
        rel = path.relative_to(ROOT / "t4o_tui")
        if rel.parts[0] == "tui":
            continue
        for line in path.read_text().splitlines():
            s = line.strip()
            if s.startswith(("import textual", "from textual")):
                offenders.append(f"{rel}: {s}")
    assert offenders == []


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` over the package found in `cwd`, with the contracts of `cwd`/pyproject.toml."""
    pytest.importorskip("importlinter", reason="import-linter is not installed (pip install '.[test]')")
    code = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    return subprocess.run([sys.executable, "-c", code, "--no-cache", "--no-logo"], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def _contracts() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {c["id"]: c["name"] for c in data["tool"]["importlinter"]["contracts"]}


def test_import_contracts_hold():
    """The layers of pyproject.toml (tui over engine/share/jobs over the domain and the store) hold."""
    contracts = _contracts()
    res = _lint_imports(ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"Contracts: {len(contracts)} kept, 0 broken." in res.stdout
    for name in contracts.values():
        assert f"{name} KEPT" in res.stdout


# One wrong import per contract, each as a newcomer might write it, and the line lint-imports must
# report for it: every contract is shown to catch something (none is empty or mistyped).
WRONG_IMPORTS = {
    "layers": ("engine/clock.py", "from t4o_tui.jobs import registry",
               "t4o_tui.engine.clock -> t4o_tui.jobs.registry"),
    "pure-domain": ("orienteering/model.py", "from t4o_tui.store import models",
                    "t4o_tui.orienteering.model -> t4o_tui.store.models"),
    "ui-only-in-tui": ("orienteering/cards.py", "import textual", "t4o_tui.orienteering.cards -> textual"),
    "no-loops-inside": ("engine/schedule_math.py", "from t4o_tui.engine import runtime",
                        "No cycles are allowed in t4o_tui.engine."),
    # A widget reaching for the app instead of tui.host.T4oHost (the loop this contract broke).
    "tui-layers": ("tui/widgets/fields.py", "from t4o_tui.tui.app import T4oApp",
                   "t4o_tui.tui.widgets.fields -> t4o_tui.tui.app"),
}
# More wrong imports that a contract above must catch: the loops issue 12 broke stay broken.
MORE_WRONG_IMPORTS = [
    ("cli_event.py", "from t4o_tui import cli", "t4o_tui.cli_event -> t4o_tui.cli"),
    ("tui/screens/base.py", "from t4o_tui.tui import app", "t4o_tui.tui.screens.base -> t4o_tui.tui.app"),
]


def test_import_contracts_fail_on_a_wrong_import(tmp_path):
    contracts = _contracts()
    assert set(WRONG_IMPORTS) == set(contracts), "each contract needs a wrong import that breaks it"
    shutil.copytree(ROOT / "t4o_tui", tmp_path / "t4o_tui", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for rel, line, _ in [*WRONG_IMPORTS.values(), *MORE_WRONG_IMPORTS]:
        with (tmp_path / "t4o_tui" / rel).open("a") as f:
            f.write(f"\n{line}  # deliberately wrong\n")
    # A new top-level module that nobody placed in a layer.
    (tmp_path / "t4o_tui" / "unplaced.py").write_text('"""A module without a layer."""\n')
    res = _lint_imports(tmp_path)
    assert res.returncode != 0, res.stdout + res.stderr
    assert f"Contracts: 0 kept, {len(contracts)} broken." in res.stdout, res.stdout
    for cid, (_, _, reported) in WRONG_IMPORTS.items():
        assert f"{contracts[cid]} BROKEN" in res.stdout
        assert reported in res.stdout, res.stdout
    for _, _, reported in MORE_WRONG_IMPORTS:
        assert reported in res.stdout, res.stdout
    assert "- t4o_tui.unplaced" in res.stdout


def _loaded_modules(code: str, *args: str) -> set[str]:
    """The modules `python -X importtime -c code` (or `python -X importtime *args`) loads, by name."""
    res = subprocess.run([sys.executable, "-X", "importtime", *(args or ("-c", code))], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return {line.rsplit("|", 1)[1].strip() for line in res.stderr.splitlines()
            if line.startswith("import time:") and line.count("|") == 2}


def test_a_command_on_sqlite_does_not_load_the_postgresql_driver(tmp_path):
    """Peewee imports psycopg at its own import where it is installed: ~0.1 s, half of the start
    of `t4o-tui tasks`. It is loaded when a PostgreSQL database is used (the PostgreSQL tests)."""
    import psycopg  # noqa: F401  - installed with the test extra: else this would prove nothing

    loaded = _loaded_modules("", "-m", "t4o_tui", "--db", str(tmp_path / "event.db"), "tasks")
    assert "peewee" in loaded and "t4o_tui.store.db" in loaded
    # (A refused `import psycopg` is listed too, with no time: its submodules are what a load shows.)
    assert not [m for m in loaded if m.startswith(("psycopg.", "psycopg_binary"))]


def test_the_engine_loads_no_job_no_lxml_and_no_share_server():
    """Jobs are handed to the engine by the entry points: importing all of it loads none of them."""
    engine = sorted(".".join(("t4o_tui", *p.relative_to(ROOT / "t4o_tui").with_suffix("").parts)).removesuffix(".__init__")
                    for p in (ROOT / "t4o_tui" / "engine").rglob("*.py"))
    loaded = _loaded_modules("import t4o_tui.engine, " + ", ".join(engine))
    assert set(engine) <= loaded
    unwanted = [m for m in loaded if m.split(".")[0] in ("lxml", "openpyxl", "textual", "rich")
                or m.startswith(("t4o_tui.jobs", "t4o_tui.share", "t4o_tui.tui"))]
    assert unwanted == []
    # The same reading sees lxml where it is loaded: the registry's load_all() (worker, TUI)
    # imports every job.
    assert "lxml" in _loaded_modules("from t4o_tui.jobs.registry import REGISTRY; REGISTRY.load_all()")


def _job_modules() -> set[str]:
    from t4o_tui.jobs.registry import JOBS

    return {JOBS[job_id].__module__ for job_id in JOBS}


def test_the_job_table_names_each_job_where_it_lives_and_misses_none():
    """jobs/registry.py imports a job when it is first asked for: each entry must name the class
    of that id, and every job class in t4o_tui/jobs must have an entry."""
    import importlib
    import inspect

    from t4o_tui.engine.job import Job
    from t4o_tui.jobs.registry import JOBS

    assert {job_id: JOBS[job_id].id for job_id in JOBS} == {job_id: job_id for job_id in JOBS}
    defined = set()
    for path in (ROOT / "t4o_tui" / "jobs").glob("*.py"):
        module = importlib.import_module(f"t4o_tui.jobs.{path.stem}")
        defined |= {cls for _, cls in inspect.getmembers(module, inspect.isclass)
                    if issubclass(cls, Job) and cls is not Job and cls.__module__ == module.__name__}
    assert defined == set(JOBS.values())


def test_a_command_imports_only_the_jobs_it_uses(tmp_path):
    """`task add --job backup` imports the backup job, not the other jobs and their libraries
    (~0.15 s of each command's start); `race list` imports none."""
    db = str(tmp_path / "event.db")
    loaded = _modules_at_exit("--db", db, "task", "add", "Backup", "--job", "backup")
    assert "t4o_tui.jobs.registry" in loaded
    assert _job_modules() & loaded == {"t4o_tui.jobs.backup"}
    assert "lxml" not in loaded
    assert _job_modules() & _modules_at_exit("--db", db, "race", "list") == set()


def _modules_at_exit(*args: str) -> set[str]:
    """The modules `t4o-tui ARGS` has loaded when it exits (-X importtime misses importlib's imports)."""
    code = ("import atexit, runpy, sys; atexit.register(lambda: print(*sys.modules, file=sys.stderr)); "
            f"sys.argv = ['t4o-tui', *{list(args)!r}]; runpy.run_module('t4o_tui', run_name='__main__')")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return set(res.stderr.split())
