#!/usr/bin/env bash
# Make sure a local PostgreSQL answers, with a role and a database for the tests; print their DSN.
#
# Idempotent and quick when everything is already up. Installs the Debian `postgresql` package
# if it is missing, starts the first cluster (creating one if there is none), creates a role named
# for the current user (peer authentication over the Unix socket: no password to keep) and a
# database owned by it. Progress goes to stderr; the only line on stdout is the DSN. A cluster it starts is
# noted in var/pg-started-by-tests for scripts/pg-down.sh.
set -euo pipefail

DB="${JINEF_TEST_PG_DB:-jinef_test}"
MARKER="${JINEF_PG_MARKER:-var/pg-started-by-tests}"
ME="$(id -un)"
say() { echo "pg-up: $*" >&2; }

if [ "$(id -u)" -eq 0 ]; then
    as_root() { "$@"; }
    as_postgres() { runuser -u postgres -- "$@"; }
else
    as_root() { sudo -n "$@"; }
    as_postgres() { sudo -n -u postgres "$@"; }
fi

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    say "installing postgresql (apt-get)"
    as_root apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >&2
    say "installed postgresql (apt-get)"
fi

cluster="$(pg_lsclusters -h | head -n 1)"
if [ -z "$cluster" ]; then
    ver="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
    say "creating cluster $ver/main"
    as_root pg_createcluster "$ver" main >&2
    cluster="$(pg_lsclusters -h | head -n 1)"
fi
read -r ver name port status _ <<<"$cluster"
if [[ "$status" != online* ]]; then
    say "starting cluster $ver/$name on port $port"
    as_root pg_ctlcluster "$ver" "$name" start >&2
    say "started PostgreSQL $ver/$name (scripts/pg-down.sh stops it again)"
    # Remember that this run started it, so scripts/pg-down.sh stops it again (a server that was already
    # running is left alone).
    mkdir -p "$(dirname "$MARKER")"
    echo "$ver $name" >"$MARKER"
else
    say "PostgreSQL $ver/$name was already running: left as it is"
fi

sock=/var/run/postgresql
for _ in $(seq 1 50); do
    pg_isready -q -h "$sock" -p "$port" && break
    sleep 0.2
done
pg_isready -q -h "$sock" -p "$port" || { say "server $ver/$name did not answer on $sock:$port"; exit 1; }

psql_pg() { as_postgres psql -X -q -h "$sock" -p "$port" -d postgres -v ON_ERROR_STOP=1 "$@"; }
if [ "$(psql_pg -Atc "SELECT 1 FROM pg_roles WHERE rolname = '$ME'")" != 1 ]; then
    say "creating role $ME"
    psql_pg -c "CREATE ROLE \"$ME\" LOGIN" >&2
fi
if [ "$(psql_pg -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
    say "creating database $DB"
    psql_pg -c "CREATE DATABASE \"$DB\" OWNER \"$ME\"" >&2
fi

echo "postgresql:///$DB?host=$sock&port=$port"
