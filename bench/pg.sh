# A throwaway PostgreSQL cluster for the benchmarks, sourced by them: `pg_start DIR` initialises
# and starts one in DIR on a free loopback port (as user postgres when run as root) and sets
# PG_URL to a fresh database on it; `pg_stop` stops it; `store_flags STORE DIR` sets the array
# `store` to the flags that put ddns on STORE (sqlite: none; postgres: a cluster started in
# DIR). Needs Debian's postgresql.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
pg_dir=
pg_as() { if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi; }
pg_start() {
    [ -x "$pg_bin/initdb" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
    pg_dir=$1
    mkdir -p "$pg_dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$pg_dir"; chmod o+x "$(dirname "$pg_dir")"; fi
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    echo bench >"$pg_dir/pw"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$pg_dir/pw"; fi
    pg_as "$pg_bin/initdb" -D "$pg_dir/data" -U ddns --pwfile="$pg_dir/pw" --auth-host=scram-sha-256 >/dev/null 2>&1
    pg_as "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$pg_dir" start >/dev/null
    PGPASSWORD=bench "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U ddns ddns
    PG_URL="postgres://ddns:bench@127.0.0.1:$port/ddns"
}
pg_stop() { [ -n "$pg_dir" ] && pg_as "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast stop >/dev/null 2>&1 || true; }
store_flags() {
    store=()
    if [ "$1" = postgres ]; then
        pg_start "$2"
        store=(--store-url "$PG_URL")
    fi
}
