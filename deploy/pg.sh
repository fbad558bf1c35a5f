#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and the demo, owned by an unprivileged
# user, listening on 127.0.0.1 only, with trust authentication for local tests.
#
#   deploy/pg.sh start DIR [PORT]   create (if needed) and start; prints PG* exports
#   deploy/pg.sh stop DIR           stop (fast) and keep the data
#   deploy/pg.sh restart DIR        restart (used by the outage test)
#   deploy/pg.sh destroy DIR        stop and delete
#
# Usage: eval "$(deploy/pg.sh start /tmp/execrec-pg)"
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|restart|destroy DIR [PORT]" >&2; exit 2; }

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pgbin/initdb" ] || { echo "pg.sh: PostgreSQL server binaries not found (run deploy/setup.sh)" >&2; exit 1; }

# The server refuses to run as root: run it as an unprivileged user.
runas=()
owner=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
    owner=execrec-pg
    id "$owner" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$owner"
    runas=(runuser -u "$owner" --)
fi

free_port() {
    python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

exports() {
    local port
    port=$(cat "$dir/port")
    echo "export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres"
}

case "$cmd" in
start)
    mkdir -p "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        port=${3:-$(free_port)}
        echo "$port" > "$dir/port"
        chown -R "$owner" "$dir"
        chmod 700 "$dir"
        "${runas[@]}" "$pgbin/initdb" -D "$dir/data" -U postgres --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
        cat >> "$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 256MB
max_wal_size = 4GB
CONF
    fi
    if ! "${runas[@]}" "$pgbin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        "${runas[@]}" "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
            || { tail -20 "$dir/server.log" >&2; exit 1; }
    fi
    exports
    ;;
stop)
    [ -d "$dir/data" ] && "${runas[@]}" "$pgbin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
restart)
    "${runas[@]}" "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null
    ;;
destroy)
    [ -d "$dir/data" ] && "${runas[@]}" "$pgbin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop|restart|destroy DIR [PORT]" >&2; exit 2 ;;
esac
