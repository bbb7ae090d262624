"""The linter and the type checker are part of the suite, so the one test command runs them too."""

from __future__ import annotations

import shutil
import subprocess
import sys

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
