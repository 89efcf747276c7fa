#!/usr/bin/env bash
# Run the whole test suite, on SQLite and on PostgreSQL. Starts PostgreSQL if it is not running.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

PGHOST_="${VENUE_PG_HOST:-127.0.0.1}"
if ! pg_isready -q -h "$PGHOST_" -p 5432 2>/dev/null; then
  echo "test: starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h "$PGHOST_" -p 5432 && break; sleep 1; done
  pg_isready -h "$PGHOST_" -p 5432 || { echo "test: PostgreSQL is not available on $PGHOST_:5432" >&2; exit 1; }
fi

# Tests wait on venues, sockets and databases more than on the CPU: three workers on two cores.
exec .venv/bin/python -m pytest -n "${VENUE_TEST_WORKERS:-3}" "$@"
