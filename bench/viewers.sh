#!/usr/bin/env bash
# What pages kept up to date cost intake and runs: one hookbook server
# (runs on, kernels forked, 2 at a time, a fresh one per round) measured
# alternately without viewers and with VIEWERS (default 10) browsers'
# event streams open on the jobs list (each re-rendered up to four times a
# second while runs change, the heaviest page a viewer keeps open), three
# rounds each, in one run:
#
#   - intake: 1,000 signed deliveries a second for SECONDS (default 10),
#     open loop (`examples/load.rs`), each starting a run; p50/p99 latency
#     and the server's CPU per delivery (its process, every thread);
#   - runs: bench/runs.py's sequential measurement (50 deliveries one at a
#     time, then 5 a second for SECONDS): first-cell latency p50/p99.
#
# Prints each round and the medians' ratios (with viewers / without).
#
#   bench/viewers.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
viewers=${VIEWERS:-10}
venv=target/bench-python
if ! "$venv/bin/python" -c 'import ipykernel' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check ipykernel==7.4.0
fi
cargo build --release --quiet --bin hookbook --example load
bin=target/release/hookbook
work=$(mktemp -d)
pids=()
watching=()
rounds=0
cleanup() {
    for p in "${watching[@]}" "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
. bench/signed.sh

cat > "$work/bench.ipynb" <<'NB'
{"cells": [
 {"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]}, "source": "n = 0", "outputs": [], "execution_count": null},
 {"cell_type": "code", "id": "first", "metadata": {}, "source": "import time\nprint('FIRST', repr(time.time()))", "outputs": [], "execution_count": null}
], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}
NB

# A hookbook server on a fresh data dir with two receivers of the notebook
# (one per signature form the two measurements send), its pool warm; sets
# pid, base, token, runs_url, intake_url, metrics.
start() {
    local port data item
    rounds=$((rounds + 1))
    data="$work/hb-$rounds"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    $bin migrate --data-dir "$data" >/dev/null
    echo pw | $bin user add --data-dir "$data" --username admin --role administrator --password-stdin >/dev/null
    HOOKBOOK_LOG=warn $bin serve --data-dir "$data" --listen "127.0.0.1:$port" --python "$PWD/$venv/bin/python" \
        --max-concurrent-runs 2 --max-queue-depth 100000000 &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.05; done
    base="http://127.0.0.1:$port/notebooks"
    token=$(curl -s -d username=admin -d password=pw -d f=json "$base/sharing/rest/generateToken" | sed 's/.*"token":"\([^"]*\)".*/\1/')
    item=$(curl -s -F f=json -F title=bench -F "file=@$work/bench.ipynb" -F "token=$token" "$base/sharing/rest/content/users/admin/addItem" | sed 's/.*"id":"\([^"]*\)".*/\1/')
    receiver() {
        curl -s -d "name=$1" -d "itemId=$item" -d "secret=$secret" -d "signatureHeaders=$2" -d f=json -d "token=$token" \
            "$base/admin/notebooks/webhookReceivers/create" | sed 's/.*"url":"\([^"]*\)".*/\1/'
    }
    runs_url=$(receiver runs x-esrihook-signature)
    intake_url=$(receiver intake x-hub-signature-256)
    metrics="http://127.0.0.1:$port/metrics"
    for _ in $(seq 600); do curl -s "$metrics" | grep -q '^hookbook_warm_kernels 2' && break; sleep 0.1; done
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; }

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
watch_on() {
    for _ in $(seq "$viewers"); do
        curl -sN -H 'Accept: text/event-stream' "$base/admin/notebooks/jobs?token=$token" > /dev/null &
        watching+=("$!")
    done
}
watch_off() {
    for p in "${watching[@]}"; do kill "$p" 2>/dev/null || true; done
    wait "${watching[@]}" 2>/dev/null || true
    watching=()
}

# One round on a fresh server: runs first (its queue empty), then intake
# (whose deliveries leave a backlog of runs, the server's condition while
# it is measured).
measure() {
    local label=$1 before after n failed rate p50 p99 max
    "$venv/bin/python" bench/runs.py sequential "$base" "$token" "$runs_url" "$secret" 50 5 "$secs" "$label" > "$work/runs.out"
    sed 's/^/    /' "$work/runs.out"
    awk -v l="$label" '/^\(a\)/ {a50=$(NF-4); a99=$(NF-1)} /^\(b\)/ {b50=$(NF-7); b99=$(NF-4)} END {print l, "runs", a50, a99, b50, b99}' "$work/runs.out" >> "$work/rows"
    before=$(cpu "$pid")
    target/release/examples/load "$intake_url" --rate 1000 --seconds "$secs" --label x --expect 200 \
        --header "X-Hub-Signature-256: $sig" --header "Content-Type: application/json" --body "$body" > "$work/load.out"
    after=$(cpu "$pid")
    read -r n failed rate p50 p99 max < <(sed 's/.*: \([0-9]*\) ok, \([0-9]*\) failed, \([0-9]*\) req.*p50 \([0-9.]*\) p90 [0-9.]* p99 \([0-9.]*\) max \([0-9.]*\)/\1 \2 \3 \4 \5 \6/' "$work/load.out")
    [ "$failed" = 0 ] || { echo "bench: $failed deliveries failed" >&2; cat "$work/load.out" >&2; exit 1; }
    local us
    us=$(awk -v a="$before" -v b="$after" -v n="$n" -v t="$ticks" 'BEGIN { printf "%.1f", (b - a) / t * 1e6 / n }')
    printf '%-22s intake at 1,000/s: p50 %6s ms  p99 %6s ms  CPU %6s µs/delivery (runs going on)\n' "$label" "$p50" "$p99" "$us"
    echo "$label intake $p50 $p99 $us" >> "$work/rows"
}

echo "== $(nproc) cores; hookbook $(git rev-parse --short HEAD), SQLite, runs on (2 at a time, forked kernels); $viewers viewers on the jobs list"
for round in 1 2 3; do
    start
    measure "round $round, no viewers"
    stop
    start
    watch_on
    measure "round $round, $viewers viewers"
    watch_off
    stop
done
awk -v v="$viewers" '
    function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return a[int((n + 1) / 2)] }
    { w = ($3 == "no") ? "off" : "on" }
    $0 ~ / intake / { k = w; ip50[k, ++ni[k]] = $(NF-2); ip99[k, ni[k]] = $(NF-1); icpu[k, ni[k]] = $NF }
    $0 ~ / runs / { k = w; ra[k, ++nr[k]] = $(NF-3); rb[k, nr[k]] = $(NF-1) }
    END {
        for (k in ni) { for (i = 1; i <= ni[k]; i++) { x[i] = ip99[k, i]; y[i] = icpu[k, i] } p99[k] = median(x, ni[k]); c[k] = median(y, ni[k]) }
        for (k in nr) { for (i = 1; i <= nr[k]; i++) { x[i] = ra[k, i]; y[i] = rb[k, i] } a[k] = median(x, nr[k]); b[k] = median(y, nr[k]) }
        printf "medians, %d viewers / none: intake p99 %.2f (%.2f vs %.2f ms), intake CPU %.2f (%.1f vs %.1f µs), first cell p50 one at a time %.2f (%.1f vs %.1f ms), at 5/s %.2f (%.1f vs %.1f ms)\n", \
            v, p99["on"] / p99["off"], p99["on"], p99["off"], c["on"] / c["off"], c["on"], c["off"], a["on"] / a["off"], a["on"], a["off"], b["on"] / b["off"], b["on"], b["off"]
    }' "$work/rows"
