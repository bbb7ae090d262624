"""A real PostgreSQL server for tests (issue 14), and a fresh empty database per test.

The server is the one `T4O_TUI_TEST_PG` names (a URL of a role that may create databases; .ci/run
starts one and sets it), or else a throwaway cluster this session starts itself with the Debian
package's initdb and pg_ctl, in a temporary folder, as an unprivileged user. When neither works, a
PostgreSQL test fails in CI (`CI` set) and is skipped elsewhere, with the reason.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ENV = "T4O_TUI_TEST_PG"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A throwaway PostgreSQL cluster: initdb in a temporary folder, pg_ctl start/stop."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="t4o-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self.url = ""
        # initdb refuses to run as root: the cluster belongs to nobody then.
        self.as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.root, "nobody")

    def _run(self, *cmd: str, timeout: float = 120) -> None:
        res = subprocess.run([*self.as_user, *cmd], capture_output=True, text=True, timeout=timeout)
        if res.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{Path(cmd[0]).name} failed: {(res.stderr or res.stdout).strip()} {log[-500:]}")

    def _opts(self) -> str:
        return f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"

    def start(self) -> str:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "t4o", "--no-sync")
        for _ in range(5):  # another process may take the free port before the server binds it
            self.port = _free_port()
            try:
                # -w: pg_ctl returns once the server accepts connections.
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                          "-o", self._opts(), "start")
                return f"postgresql://t4o@127.0.0.1:{self.port}/postgres"
            except RuntimeError:
                if "could not bind" not in (self.log.read_text() if self.log.exists() else ""):
                    raise
        raise RuntimeError("no free port for PostgreSQL")

    def restart(self) -> None:
        """Stop the server (fast: connections are cut) and start it again with the same options."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "restart")

    def pause(self) -> None:
        """Stop the server (fast: connections are cut), keeping its data, until `resume`."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-o", self._opts(), "start")

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                            "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    """A PostgreSQL server of the test's own, to restart: needs the server binaries (initdb)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg 3 is not installed (pip install -e '.[postgres]')")
    bin_dir = _bin_dir()
    if bin_dir is None:
        _unavailable("no initdb was found (apt-get install postgresql)")
    assert bin_dir is not None
    cluster = Cluster(bin_dir)
    try:
        cluster.url = cluster.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        cluster.stop()
        _unavailable(f"could not start a cluster with {bin_dir}: {exc}")
    yield cluster
    cluster.stop()


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"PostgreSQL tests need a server in CI: {reason}", pytrace=False)
    pytest.skip(f"no PostgreSQL server: {reason}")


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """The URL of a PostgreSQL server where the tests may create databases."""
    try:
        import psycopg
    except ImportError:
        _unavailable("psycopg 3 is not installed (pip install -e '.[postgres]')")
    url = os.environ.get(ENV)
    cluster = None
    if not url:
        bin_dir = _bin_dir()
        if bin_dir is None:
            _unavailable(f"{ENV} is not set and no initdb was found (apt-get install postgresql)")
        assert bin_dir is not None
        cluster = Cluster(bin_dir)
        try:
            url = cluster.start()
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            cluster.stop()
            _unavailable(f"could not start a cluster with {bin_dir}: {exc}")
    assert url is not None
    try:
        psycopg.connect(url, connect_timeout=10).close()
    except psycopg.Error as exc:
        if cluster:
            cluster.stop()
        _unavailable(f"cannot connect to {url}: {str(exc).strip().splitlines()[0]}")
    yield url
    if cluster:
        cluster.stop()


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A new empty database on the test server, dropped after the test."""
    import psycopg

    name = "t4o_test_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield with_database(pg_admin_url, name)
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
