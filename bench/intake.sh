#!/usr/bin/env bash
# Event intake throughput and latency: hookbook (every acknowledged event
# synced to disk in SQLite) next to the `webhook` tool (adnanh/webhook, a
# payload-hmac-sha256 rule), on the same signed payload, in one run.
#
#   bench/intake.sh [SECONDS]
#
# Needs wrk and webhook (Debian packages `wrk` and `webhook`; installed here
# when missing and running as root). Prints both rates, their ratio, and
# hookbook's latency percentiles at a fixed 1,000 requests per second.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}

need() {
    command -v "$1" >/dev/null && return
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    fi
    command -v "$1" >/dev/null || { echo "bench: '$1' is missing (apt-get install $2)" >&2; exit 1; }
}
need wrk wrk
need webhook webhook
need curl curl
need openssl openssl

cargo build --release --quiet --bin hookbook --example load
bin=target/release/hookbook
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 200); do curl -s -o /dev/null "$1" && return; sleep 0.05; done; echo "bench: $1 never answered" >&2; exit 1; }

secret=9f8b47c2e4a748d3b58e2a17ad8f2e4b
body='{"serviceType":"FeatureServer","name":"Posting","events":[{"eventType":"FeaturesUpdated","when":1741189389713}]}'
sig="sha256=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)"

# hookbook
hb_port=$(free_port)
echo pw | $bin user add --data-dir "$work/hb" --username admin --role administrator --password-stdin >/dev/null
HOOKBOOK_LOG=warn $bin serve --data-dir "$work/hb" --listen "127.0.0.1:$hb_port" --max-queue-depth 100000000 &
pids+=($!)
wait_http "http://127.0.0.1:$hb_port/healthz"
base="http://127.0.0.1:$hb_port/notebooks"
token=$(curl -s -d username=admin -d password=pw -d f=json "$base/sharing/rest/generateToken" | sed 's/.*"token":"\([^"]*\)".*/\1/')
nb='{"cells":[],"metadata":{},"nbformat":4,"nbformat_minor":5}'
item=$(curl -s --data-urlencode "text=$nb" -d title=bench -d f=json -d "token=$token" "$base/sharing/rest/content/users/admin/addItem" | sed 's/.*"id":"\([^"]*\)".*/\1/')
hb_url=$(curl -s -d name=bench -d "itemId=$item" -d "secret=$secret" -d signatureHeaders=x-hub-signature-256 -d f=json -d "token=$token" \
    "$base/admin/notebooks/webhookReceivers/create" | sed 's/.*"url":"\([^"]*\)".*/\1/')

# webhook
wh_port=$(free_port)
cat > "$work/hooks.json" <<JSON
[{"id": "bench", "execute-command": "/bin/true", "command-working-directory": "$work", "response-message": "ok",
  "trigger-rule": {"match": {"type": "payload-hmac-sha256", "secret": "$secret",
                              "parameter": {"source": "header", "name": "X-Hub-Signature-256"}}}}]
JSON
webhook -hooks "$work/hooks.json" -ip 127.0.0.1 -port "$wh_port" >/dev/null 2>&1 &
pids+=($!)
wh_url="http://127.0.0.1:$wh_port/hooks/bench"
wait_http "$wh_url"

# Both must accept the signed request and refuse a forged one before we measure.
check() {
    local ok bad
    ok=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Hub-Signature-256: $sig" -H 'Content-Type: application/json' --data-binary "$body" "$1")
    bad=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Hub-Signature-256: ${sig%?}0" -H 'Content-Type: application/json' --data-binary "$body" "$1")
    [ "$ok" = 200 ] && [ "$bad" != 200 ] || { echo "bench: $1 answered $ok signed / $bad forged" >&2; exit 1; }
}
check "$hb_url"
check "$wh_url"

cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Hub-Signature-256"] = "$sig"
LUA

rate() {
    wrk -t2 -c64 -d"${secs}s" -s "$work/post.lua" --latency "$1" > "$work/wrk.out"
    local non2xx
    non2xx=$(grep -o 'Non-2xx or 3xx responses: [0-9]*' "$work/wrk.out" | grep -o '[0-9]*$' || echo 0)
    [ "$non2xx" = 0 ] || { echo "bench: $1 gave $non2xx error answers" >&2; cat "$work/wrk.out" >&2; exit 1; }
    grep 'Requests/sec' "$work/wrk.out" | awk '{print $2}'
}

# Latency first: the webhook tool runs its command after answering, and a
# backlog of those commands would otherwise load the machine afterwards.
echo "== latency at a fixed 1000 requests/s for ${secs}s (open loop, from when each request was due)"
for target in "hookbook $hb_url" "webhook $wh_url"; do
    set -- $target
    target/release/examples/load "$2" --rate 1000 --seconds "$secs" --label "$1" \
        --header "X-Hub-Signature-256: $sig" --header "Content-Type: application/json" --body "$body"
    sleep 3
done

echo "== throughput, wrk -t2 -c64 -d${secs}s, same signed payload"
hb=$(rate "$hb_url")
wh=$(rate "$wh_url")
printf '%-40s %12s req/s\n' "hookbook (SQLite, synced)" "$hb" "webhook 2.8 (payload-hmac-sha256)" "$wh"
awk -v a="$hb" -v b="$wh" 'BEGIN { printf "ratio hookbook / webhook: %.2fx\n", a / b }'
echo "jobs stored by hookbook: $(sqlite3 "$work/hb/hookbook.db" 'select count(*) from jobs' 2>/dev/null || echo '?')"
