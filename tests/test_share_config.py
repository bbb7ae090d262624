"""The [share] section of the config reaches the share server of a real `--worker`: its header timeout
and its limit of connections per client (on the machine's own LAN address, as an arena screen sees it)."""

from __future__ import annotations

import re
import socket
import time

import pytest

from t4o_tui.config import ConfigError, load_config

from conftest import write_config

pytestmark = pytest.mark.slow  # real processes: `-m 'not slow'` leaves them out


def lan_address() -> str | None:
    """This machine's address on its LAN (none: a machine with loopback only)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 9))  # no packet is sent: it only picks the outgoing address
            addr = s.getsockname()[0]
        except OSError:
            return None
    return None if addr.startswith("127.") or addr == "0.0.0.0" else addr


def read_to_end(sock: socket.socket) -> bytes:
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def test_a_workers_share_server_takes_the_header_timeout_and_client_limit_from_the_config(cli, workers, tmp_path):
    host = lan_address()
    if host is None:
        pytest.skip("no LAN address: loopback clients are not limited")
    write_config(tmp_path, f'[share]\nhost = "{host}"\nport = 0\nheader_timeout = 1\nmax_connections_per_client = 2\n')
    cli("task", "add", "Results", "--job", "test", check=True)
    w = workers()
    w.wait_started()
    m = re.search(rf"share server listening on http://{re.escape(host)}:(\d+)", w.output)
    assert m, w.output
    port = int(m.group(1))

    held = [socket.create_connection((host, port), timeout=10) for _ in range(2)]
    try:
        for sock in held:  # within the limit: answered
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        with socket.create_connection((host, port), timeout=10) as extra:  # the third: refused at once
            assert read_to_end(extra).startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        # The two say nothing more: closed one second after their last answer.
        t0 = time.monotonic()
        assert [read_to_end(sock) for sock in held] == [b"", b""]
        assert 0.5 <= time.monotonic() - t0 <= 3.0
    finally:
        for sock in held:
            sock.close()
    assert w.stop() == 0
    assert f"share: refusing connections from {host}: it has 2 open" in w.output
    assert "Traceback" not in w.output


@pytest.mark.parametrize(("line", "why"), [
    ("header_timeout = 0.5", "'share_header_timeout' must be between 1 and 300 (got 0.5)"),
    ("max_connections_per_client = 0", "'share_max_connections_per_client' must be between 1 and 100000 (got 0)"),
    ("max_connections_per_client = 2.5", "'share_max_connections_per_client' must be a whole number"),
    ("header_timeuot = 5", "unknown key 'share.header_timeuot'"),
])
def test_wrong_share_limits_in_the_config_are_refused(tmp_path, line, why):
    conf = tmp_path / "config.toml"
    conf.write_text(f"[share]\n{line}\n")
    with pytest.raises(ConfigError) as err:
        load_config(conf, db=str(tmp_path / "event.sqlite"))
    assert why in str(err.value), str(err.value)
    conf.write_text("[share]\nheader_timeout = 2.5\nmax_connections_per_client = 8\n")
    cfg = load_config(conf, db=str(tmp_path / "event.sqlite"))
    assert (cfg.share_header_timeout, cfg.share_max_connections_per_client) == (2.5, 8)
