#!/usr/bin/env bash
# The job queue with a backlog, on both databases in one run: fills each
# with WAITING jobs (100,000 by default) as intake does, then times claim,
# finish, lease renewal, the waiting count and the first page of the job
# list, one at a time (examples/queue.rs). A queue whose cost grew with the
# backlog would show here as claims of tens or hundreds of milliseconds.
# Each database is measured quiet, then again while batches of 50 events
# are stored back to back (an intake flood, without HTTP).
#
#   bench/queue.sh [WAITING]
#
# Needs PostgreSQL at 127.0.0.1:5432 with trust authentication (as the
# tests do); a database `hookbook_bench_queue` is made and dropped.
set -euo pipefail
cd "$(dirname "$0")/.."
waiting=${1:-100000}
command -v psql >/dev/null || { echo "bench: psql is missing (apt-get install postgresql-client)" >&2; exit 1; }
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "bench: PostgreSQL is not running at 127.0.0.1:5432" >&2; exit 1; }

cargo build --release --quiet --example queue
work=$(mktemp -d)
db=hookbook_bench_queue
cleanup() {
    rm -rf "$work"
    psql -q -h 127.0.0.1 -U root -d test -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql -q -h 127.0.0.1 -U root -d test -c "DROP DATABASE IF EXISTS $db" >/dev/null
psql -q -h 127.0.0.1 -U root -d test -c "CREATE DATABASE $db" >/dev/null

echo "== $waiting jobs waiting; each operation timed alone, 200 times"
target/release/examples/queue --database "sqlite://$work/quiet.db" --waiting "$waiting" --label "sqlite, quiet"
target/release/examples/queue --database "sqlite://$work/flood.db" --waiting "$waiting" --flood 50 --label "sqlite, flood"
target/release/examples/queue --database "postgres://root@127.0.0.1:5432/$db" --waiting "$waiting" --label "postgres, quiet"
psql -q -h 127.0.0.1 -U root -d test -c "DROP DATABASE $db" -c "CREATE DATABASE $db" >/dev/null
target/release/examples/queue --database "postgres://root@127.0.0.1:5432/$db" --waiting "$waiting" --flood 50 --label "postgres, flood"
