#!/usr/bin/env bash
# Stop the local PostgreSQL cluster again if scripts/pg-up.sh started it for this test run (see its marker);
# a server that was already running before the tests is left alone.
set -euo pipefail

MARKER="${JINEF_PG_MARKER:-var/pg-started-by-tests}"
[ -f "$MARKER" ] || exit 0
read -r ver name <"$MARKER"
if [ "$(id -u)" -eq 0 ]; then as_root() { "$@"; }; else as_root() { sudo -n "$@"; }; fi
echo "pg-down: stopping cluster $ver/$name (started for the tests)" >&2
as_root pg_ctlcluster "$ver" "$name" stop >&2
rm -f "$MARKER"
echo "pg-down: stopped PostgreSQL $ver/$name" >&2
