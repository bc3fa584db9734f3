#!/usr/bin/env bash
# A soak run: hookbook on SQLite with runs executing, under a steady mix for
# SECONDS (600 by default) of valid deliveries (each runs a notebook),
# forged ones (401), oversized ones (413) and duplicates (a repeated GitHub
# delivery id: 200 with the first job). The server's memory (RSS) and open
# file descriptors are sampled every 10 s; the script prints them, fails on
# any unexpected answer, and fails if memory or descriptors grew after the
# first quarter of the run (warm-up) by more than 10% and 20 descriptors.
#
#   bench/soak.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}

command -v curl >/dev/null || { echo "bench: curl is missing" >&2; exit 1; }
command -v openssl >/dev/null || { echo "bench: openssl is missing" >&2; exit 1; }
python=target/test-python/bin/python
"$python" -c 'import ipykernel' 2>/dev/null || { echo "bench: $python has no ipykernel (run scripts/test once)" >&2; exit 1; }
cargo build --release --quiet --bin hookbook --example load
bin=target/release/hookbook
work=$(mktemp -d)
pid=
loads=()
cleanup() { for p in "${loads[@]}"; do kill "$p" 2>/dev/null || true; done; [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$bin migrate --data-dir "$work" >/dev/null
echo pw | $bin user add --data-dir "$work" --username admin --role administrator --password-stdin >/dev/null
HOOKBOOK_LOG=warn $bin serve --data-dir "$work" --listen "127.0.0.1:$port" --python "$python" \
    --max-concurrent-runs 2 --max-payload-bytes 65536 &
pid=$!
base="http://127.0.0.1:$port/notebooks"
for _ in $(seq 400); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.05; done
token=$(curl -s -d username=admin -d password=pw -d f=json "$base/sharing/rest/generateToken" | sed 's/.*"token":"\([^"]*\)".*/\1/')
nb='{"cells":[{"cell_type":"code","id":"a","metadata":{},"source":"total = sum(range(1000))\nprint(total)","outputs":[],"execution_count":null}],"metadata":{"kernelspec":{"name":"python3","display_name":"Python 3","language":"python"}},"nbformat":4,"nbformat_minor":5}'
item=$(curl -s --data-urlencode "text=$nb" -d title=soak -d f=json -d "token=$token" "$base/sharing/rest/content/users/admin/addItem" | sed 's/.*"id":"\([^"]*\)".*/\1/')
secret=9f8b47c2e4a748d3b58e2a17ad8f2e4b
url=$(curl -s -d name=soak -d "itemId=$item" -d "secret=$secret" -d signatureHeaders=x-hub-signature-256 -d f=json \
    -d "token=$token" "$base/admin/notebooks/webhookReceivers/create" | sed 's/.*"url":"\([^"]*\)".*/\1/')
body='{"action":"updated"}'
sig="sha256=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)"
bad="sha256=$(printf '%s' "$body" | openssl dgst -sha256 -hmac wrongwrongwrongwrongwrongwrong12 -r | cut -d' ' -f1)"
load=target/release/examples/load
h="X-Hub-Signature-256"
# rate label expect extra-args...
start_load() {
    local rate=$1 label=$2 expect=$3; shift 3
    $load "$url" --rate "$rate" --seconds "$secs" --label "$label" --expect "$expect" \
        --header "Content-Type: application/json" "$@" > "$work/$label.out" &
    loads+=($!)
}
start_load 4 valid 200 --header "$h: $sig" --body "$body"
start_load 40 forged 401 --header "$h: $bad" --body "$body"
start_load 5 oversized 413 --header "$h: $sig" --body-bytes 100000
start_load 20 duplicate 200 --header "$h: $sig" --header "X-GitHub-Delivery: 7f3c6c1e-soak" --body "$body"

echo "== soak for ${secs}s: 4 valid/s (each runs a notebook), 40 forged/s, 5 oversized/s, 20 duplicate/s"
printf '%8s %10s %6s %10s\n' "second" "rss KiB" "fds" "jobs done"
samples="$work/samples"
: > "$samples"
elapsed=0
while kill -0 "${loads[0]}" 2>/dev/null; do
    rss=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status)
    fds=$(ls /proc/$pid/fd | wc -l)
    done_jobs=$(curl -s "$base/admin/notebooks/jobs?f=json&num=1&status=COMPLETED&token=$token" | sed -n 's/.*"total":\([0-9]*\).*/\1/p')
    printf '%8s %10s %6s %10s\n' "$elapsed" "$rss" "$fds" "$done_jobs"
    echo "$elapsed $rss $fds" >> "$samples"
    sleep 10
    elapsed=$((elapsed + 10))
done
for p in "${loads[@]}"; do wait "$p" || true; done
cat "$work"/*.out
failed=$(cat "$work"/*.out | sed -n 's/.* \([0-9]*\) failed.*/\1/p' | awk '{s += $1} END {print s + 0}')
waiting=$(curl -s "$base/admin/notebooks/jobs?f=json&num=1&status=SUBMITTED&token=$token" | sed -n 's/.*"total":\([0-9]*\).*/\1/p')
echo "unexpected answers: $failed; jobs still waiting at the end: $waiting"
awk -v secs="$secs" '
    $1 >= secs / 4 && !base_set { base_rss = $2; base_fds = $3; base_set = 1 }
    base_set { if ($2 > max_rss) max_rss = $2; if ($3 > max_fds) max_fds = $3 }
    END {
        printf "after warm-up: rss %d KiB -> max %d KiB (%+.1f%%), fds %d -> max %d\n", base_rss, max_rss, (max_rss - base_rss) * 100 / base_rss, base_fds, max_fds
        if (max_rss > base_rss * 1.10 || max_fds > base_fds + 20) { print "growth after warm-up"; exit 1 }
    }' "$samples"
[ "$failed" = 0 ] || { echo "bench: $failed unexpected answers" >&2; exit 1; }
