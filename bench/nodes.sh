#!/usr/bin/env bash
# Accepted deliveries per second: one node on SQLite, one node on
# PostgreSQL, and two nodes sharing one PostgreSQL database, in one run, on
# the same signed payload. Every acknowledged delivery is committed (and
# synced) before its 200 in all three; runs are off so that only intake is
# measured. With each rate, the CPU microseconds per accepted delivery of
# the nodes and PostgreSQL's processes together (from /proc).
#
#   bench/nodes.sh [SECONDS] [POSTGRES_URL]
#
# POSTGRES_URL names a database to connect to for CREATE DATABASE
# (default postgres://root@127.0.0.1:5432/test). Needs wrk, curl, openssl, psql.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
server=${2:-postgres://root@127.0.0.1:5432/test}

need() {
    command -v "$1" >/dev/null && return
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    fi
    command -v "$1" >/dev/null || { echo "bench: '$1' is missing (apt-get install $2)" >&2; exit 1; }
}
need wrk wrk
need curl curl
need openssl openssl
need psql postgresql-client

cargo build --release --quiet --bin hookbook
bin=target/release/hookbook
work=$(mktemp -d)
pids=()
dbs=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for d in "${dbs[@]}"; do psql -q -X "$server" -c "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 200); do curl -s -o /dev/null "$1" && return; sleep 0.05; done; echo "bench: $1 never answered" >&2; exit 1; }

. bench/signed.sh
key=$(head -c 32 /dev/urandom | base64)
wrk_post "$work/post.lua"

# Creates a database; sets $pg (its URL) and remembers it for cleanup.
fresh_pg() {
    local name="hookbook_bench_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    psql -q -X "$server" -c "CREATE DATABASE $name" >/dev/null
    dbs+=("$name")
    pg="${server%/*}/$name"
}

# start_nodes DATABASE_URL COUNT: starts COUNT nodes; sets $bases.
start_nodes() {
    bases=()
    for i in $(seq "$2"); do
        local port
        port=$(free_port)
        HOOKBOOK_LOG=warn $bin serve --database-url "$1" --data-dir "$work/node-$i-$RANDOM" --encryption-key "$key" \
            --listen "127.0.0.1:$port" --role api --max-concurrent-runs 0 --max-queue-depth 100000000 &
        pids+=($!)
        bases+=("http://127.0.0.1:$port")
        wait_http "http://127.0.0.1:$port/healthz"
    done
}

stop_nodes() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    pids=()
}

# receiver_path BASE: an admin, a notebook and a receiver; prints the event path.
receiver_path() {
    local base="$1/notebooks" token item url
    token=$(curl -s -d username=admin -d password=pw -d f=json "$base/sharing/rest/generateToken" | sed 's/.*"token":"\([^"]*\)".*/\1/')
    item=$(curl -s --data-urlencode 'text={"cells":[],"metadata":{},"nbformat":4,"nbformat_minor":5}' -d title=bench -d f=json \
        -d "token=$token" "$base/sharing/rest/content/users/admin/addItem" | sed 's/.*"id":"\([^"]*\)".*/\1/')
    url=$(curl -s -d name=bench -d "itemId=$item" -d "secret=$secret" -d signatureHeaders=x-hub-signature-256 -d f=json \
        -d "token=$token" "$base/admin/notebooks/webhookReceivers/create" | sed 's/.*"url":"\([^"]*\)".*/\1/')
    echo "/${url#http*://*/}"
}

ticks=$(getconf CLK_TCK)
# CPU ticks of the nodes and of PostgreSQL's processes (its backends for
# the nodes' connections live through the measurement; a process that
# ended in between is missed, so the PostgreSQL figure is a floor).
cpu_ticks() {
    local p total=0
    for p in "${pids[@]}" $(pgrep -x postgres || true); do
        [ -r "/proc/$p/stat" ] && total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

# measure DATABASE_URL NODES: prints accepted deliveries per second, all
# nodes together (64 connections in all, split among them), and the CPU
# microseconds per accepted delivery of the nodes and PostgreSQL together.
measure() {
    $bin migrate --database-url "$1" --data-dir "$work/admin" >/dev/null
    echo pw | $bin user add --database-url "$1" --data-dir "$work/admin" --username admin --role administrator --password-stdin >/dev/null
    start_nodes "$1" "$2"
    local path out total=0 i=0
    path=$(receiver_path "${bases[0]}")
    for b in "${bases[@]}"; do
        code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Hub-Signature-256: $sig" -H 'Content-Type: application/json' --data-binary "$body" "$b$path")
        [ "$code" = 200 ] || { echo "bench: $b$path answered $code" >&2; exit 1; }
    done
    local conns=$((64 / $2)) threads=$((2 / $2 > 0 ? 2 / $2 : 1)) before requests=0
    before=$(cpu_ticks)
    for b in "${bases[@]}"; do
        i=$((i + 1))
        wrk -t"$threads" -c"$conns" -d"${secs}s" -s "$work/post.lua" "$b$path" > "$work/wrk-$i.out" &
    done
    wait $(jobs -p | tail -n "$2")
    for j in $(seq "$2"); do
        out="$work/wrk-$j.out"
        if grep -q 'Non-2xx' "$out"; then echo "bench: error answers:" >&2; cat "$out" >&2; exit 1; fi
        total=$(awk -v t="$total" '/Requests\/sec/ { printf "%.0f", t + $2 }' "$out")
        requests=$(awk -v t="$requests" '/requests in/ { print t + $1 }' "$out")
    done
    local used=$(($(cpu_ticks) - before))
    stop_nodes
    awk -v r="$total" -v u="$used" -v n="$requests" -v t="$ticks" 'BEGIN { printf "%s %.1f\n", r, u / t * 1e6 / n }'
}

echo "== accepted deliveries per second, wrk for ${secs}s, 64 connections in all"
read -r sqlite_rate sqlite_cpu < <(measure "sqlite://$work/single.db" 1)
fresh_pg
read -r pg1_rate pg1_cpu < <(measure "$pg" 1)
fresh_pg
read -r pg2_rate pg2_cpu < <(measure "$pg" 2)
jobs_pg2=$(psql -X -At "$pg" -c "SELECT count(*) FROM jobs")
printf '%-32s %10s %24s\n' "setup" "accepted/s" "CPU µs/delivery (+PG)"
printf '%-32s %10s %24s\n' "1 node, SQLite" "$sqlite_rate" "$sqlite_cpu" "1 node, PostgreSQL" "$pg1_rate" "$pg1_cpu" \
    "2 nodes, one PostgreSQL" "$pg2_rate" "$pg2_cpu"
awk -v a="$pg2_rate" -v b="$pg1_rate" -v c="$sqlite_rate" \
    'BEGIN { printf "2 nodes / 1 node on PostgreSQL: %.2fx; 1 node PostgreSQL / SQLite: %.2fx\n", a / b, b / c }'
echo "jobs stored by the two PostgreSQL nodes: $jobs_pg2"
