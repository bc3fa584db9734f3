#!/usr/bin/env bash
# How long the pages take with 10,000 jobs in the database: hookbook on
# SQLite, 10,000 signed deliveries queued (runs off), then each main page
# fetched 20 times as a signed-in person would (session cookie); prints the
# median and the slowest time per page, and fails if any page took over
# 200 ms.
#
#   bench/pages.sh [JOBS]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${1:-10000}

command -v curl >/dev/null || { echo "bench: curl is missing" >&2; exit 1; }
command -v openssl >/dev/null || { echo "bench: openssl is missing" >&2; exit 1; }
cargo build --release --quiet --bin hookbook --example load
bin=target/release/hookbook
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$bin migrate --data-dir "$work" >/dev/null
echo pw | $bin user add --data-dir "$work" --username admin --role administrator --password-stdin >/dev/null
HOOKBOOK_LOG=warn $bin serve --data-dir "$work" --listen "127.0.0.1:$port" --max-concurrent-runs 0 --max-queue-depth 1000000 &
pid=$!
for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.05; done
base="http://127.0.0.1:$port/notebooks"
token=$(curl -s -d username=admin -d password=pw -d f=json "$base/sharing/rest/generateToken" | sed 's/.*"token":"\([^"]*\)".*/\1/')
item=$(curl -s --data-urlencode 'text={"cells":[],"metadata":{},"nbformat":4,"nbformat_minor":5}' -d title=bench -d f=json \
    -d "token=$token" "$base/sharing/rest/content/users/admin/addItem" | sed 's/.*"id":"\([^"]*\)".*/\1/')
secret=9f8b47c2e4a748d3b58e2a17ad8f2e4b
created=$(curl -s -d name=bench -d "itemId=$item" -d "secret=$secret" -d signatureHeaders=x-hub-signature-256 -d f=json \
    -d "token=$token" "$base/admin/notebooks/webhookReceivers/create")
url=$(echo "$created" | sed 's/.*"url":"\([^"]*\)".*/\1/')
receiver=$(echo "$created" | grep -o "\"id\":\"[0-9a-f-]\{36\}\"" | cut -d\" -f4)
body='{"count":1}'
sig="sha256=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)"
echo "== queueing $jobs jobs"
target/release/examples/load "$url" --rate 2000 --seconds $((jobs / 2000)) --label fill \
    --header "X-Hub-Signature-256: $sig" --header "Content-Type: application/json" --body "$body" >/dev/null
stored=$(curl -s "$base/admin/notebooks/jobs?f=json&num=1&token=$token" | sed 's/.*"total":\([0-9]*\).*/\1/')
echo "jobs in the database: $stored"
job=$(curl -s "$base/admin/notebooks/jobs?f=json&num=1&token=$token" | sed 's/.*"jobId":"\([^"]*\)".*/\1/')

cookie=$(curl -s -o /dev/null -D - -d username=admin -d password=pw "$base/signin" | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\);.*/\1/p')
worst=0
printf '%-60s %10s %10s\n' "page (f=html, signed in)" "median ms" "max ms"
for path in \
    "/admin/notebooks/webhookReceivers" \
    "/admin/notebooks/webhookReceivers/$receiver" \
    "/admin/notebooks/webhookReceivers/$receiver/deliveries" \
    "/admin/notebooks/jobs" \
    "/admin/notebooks/jobs?start=$((stored - 99))" \
    "/admin/notebooks/jobs?receiverId=$receiver&status=SUBMITTED" \
    "/admin/notebooks/jobs/$job" \
    "/sharing/rest/content/users/admin"; do
    times=$(for _ in $(seq 20); do
        curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Cookie: $cookie" "$base$path"
    done)
    if echo "$times" | grep -qv '^200 '; then echo "bench: $path did not answer 200" >&2; exit 1; fi
    read -r median max < <(echo "$times" | awk '{print $2 * 1000}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)], a[NR]}')
    label=${path/$receiver/<receiver>}
    label=${label/$job/<job>}
    printf '%-60s %10.1f %10.1f\n' "$label" "$median" "$max"
    worst=$(awk -v a="$worst" -v b="$max" 'BEGIN { print (b > a) ? b : a }')
done
awk -v w="$worst" 'BEGIN { if (w > 200) { printf "slowest page: %.1f ms, over 200 ms\n", w; exit 1 } printf "slowest page: %.1f ms (limit 200 ms)\n", w }'
