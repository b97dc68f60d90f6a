#!/usr/bin/env bash
# Start a private, throw-away PostgreSQL on 127.0.0.1 for the tests (Debian's packages, installed if missing).
# Prints an export line:  eval "$(scripts/postgres.sh)"   Stop: scripts/postgres.sh stop
set -euo pipefail
PGPORT=${PGPORT:-25432}  # below the kernel's ephemeral ports (32768-60999): no outgoing connection can hold it
PGDIR=${PGDIR:-/tmp/refunder-pg}

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_server() { [ -d "$PGDIR/data" ] && as_owner "$bin/pg_ctl" -D "$PGDIR/data" -m fast stop >/dev/null 2>&1 || true; }

bin=$(find_bin)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "postgres: installing Debian's postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends postgresql >/dev/null
  bin=$(find_bin)
fi

if [ "${1:-}" = stop ]; then
  stop_server
  exit 0
fi

if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$PGPORT"; then
  stop_server  # one left running on another port from this directory
  rm -rf "$PGDIR" && mkdir -p "$PGDIR"
  [ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
  as_owner "$bin/initdb" -D "$PGDIR/data" -A trust -U refunder --no-sync -E UTF8 >"$PGDIR/initdb.log"
  as_owner "$bin/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -o \
    "-h 127.0.0.1 -p $PGPORT -k $PGDIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null
  "$bin/createdb" -h 127.0.0.1 -p "$PGPORT" -U refunder refunder
fi
echo "export REFUNDER_TEST_POSTGRES_URL=postgresql+psycopg://refunder@127.0.0.1:$PGPORT/refunder"
