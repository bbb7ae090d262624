# shellcheck shell=bash
# Sourced by .ci/run (issue 14): a throwaway PostgreSQL server for the tests. Installs the Debian
# package if it is missing, starts a cluster in a temporary folder on a free port as an unprivileged
# user, exports T4O_TUI_TEST_PG (tests/pg_server.py uses it), and stops it when the script exits.
# With CI set, a PostgreSQL test fails rather than skips when no server can be had.
pg_as() {
    # initdb and postgres refuse to run as root.
    if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    sudo_cmd=""
    [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq postgresql >/dev/null
fi
pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
pg_dir="$(mktemp -d)"
[ "$(id -u)" = 0 ] && chown nobody "$pg_dir"
pg_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
pg_as "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U t4o --no-sync >/dev/null
pg_stop() {
    pg_as "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
}
trap pg_stop EXIT
# -w: returns once the server accepts connections. fsync off: a test server, thrown away after.
pg_as "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
    -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
export T4O_TUI_TEST_PG="postgresql://t4o@127.0.0.1:$pg_port/postgres"
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') for the tests at $T4O_TUI_TEST_PG"
