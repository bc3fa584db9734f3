#!/usr/bin/env bash
# Intake CPU of two or more hookbook builds, A/B: every build serves at
# once, each on a fresh data dir with runs off (`--role api`), and they
# are loaded in turn with `wrk -t2 -c64` for SECONDS, round after round,
# so that this machine's drift in speed falls on all of them alike. Prints
# each round's CPU per accepted delivery (the server's process, every
# thread, from /proc/<pid>/stat) and throughput, then each build's median
# (the first round includes each server's warm-up, which the median
# outweighs).
#
#   bench/intake-ab.sh [-r ROUNDS] [-s SECONDS] BINARY BINARY...
#
# e.g. two release builds copied aside: `cp target/release/hookbook /tmp/a`,
# change, rebuild, `bench/intake-ab.sh /tmp/a target/release/hookbook`.
# Needs wrk (Debian package `wrk`), curl and openssl.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=10 secs=5
while getopts r:s: opt; do
    case $opt in
    r) rounds=$OPTARG ;;
    s) secs=$OPTARG ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { echo "usage: bench/intake-ab.sh [-r ROUNDS] [-s SECONDS] BINARY BINARY..." >&2; exit 2; }
for tool in wrk curl openssl; do
    command -v "$tool" >/dev/null || { echo "bench: '$tool' is missing" >&2; exit 1; }
done
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

. bench/signed.sh
echo '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}' > "$work/nb.ipynb"
wrk_post "$work/post.lua"

urls=() names=()
for i in $(seq 0 $(($# - 1))); do
    bin=${*:$((i + 1)):1}
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$bin" migrate --data-dir "$work/d$i" >/dev/null
    echo pw | "$bin" user add --data-dir "$work/d$i" --username admin --role administrator --password-stdin >/dev/null
    HOOKBOOK_LOG=warn "$bin" serve --data-dir "$work/d$i" --listen "127.0.0.1:$port" --role api --max-queue-depth 100000000 &
    pids+=($!)
    for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.05; done
    base="http://127.0.0.1:$port/notebooks"
    token=$(curl -s -d username=admin -d password=pw -d f=json "$base/sharing/rest/generateToken" | sed 's/.*"token":"\([^"]*\)".*/\1/')
    item=$(curl -s -F f=json -F title=bench -F "file=@$work/nb.ipynb" -F "token=$token" "$base/sharing/rest/content/users/admin/addItem" | sed 's/.*"id":"\([^"]*\)".*/\1/')
    url=$(curl -s -d name=bench -d "itemId=$item" -d "secret=$secret" -d signatureHeaders=x-hub-signature-256 -d f=json -d "token=$token" \
        "$base/admin/notebooks/webhookReceivers/create" | sed 's/.*"url":"\([^"]*\)".*/\1/')
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Hub-Signature-256: $sig" -H 'Content-Type: application/json' --data-binary "$body" "$url")
    [ "$code" = 200 ] || { echo "bench: $bin answered $code to a signed delivery" >&2; exit 1; }
    urls+=("$url") names+=("$i:$(basename "$bin")")
done

ticks=$(getconf CLK_TCK)
echo "== $(nproc) cores; wrk -t2 -c64 for ${secs} s per build, in turn, ${rounds} rounds; runs off; CPU µs per delivery"
for r in $(seq "$rounds"); do
    line="round $r"
    for i in "${!urls[@]}"; do
        before=$(awk '{print $14 + $15}' "/proc/${pids[$i]}/stat")
        wrk -t2 -c64 -d"${secs}s" -s "$work/post.lua" "${urls[$i]}" > "$work/wrk.out"
        if grep -q 'Non-2xx' "$work/wrk.out"; then echo "bench: ${names[$i]} gave error answers" >&2; cat "$work/wrk.out" >&2; exit 1; fi
        after=$(awk '{print $14 + $15}' "/proc/${pids[$i]}/stat")
        n=$(awk '/requests in/ {print $1}' "$work/wrk.out")
        us=$(awk -v a="$before" -v b="$after" -v n="$n" -v t="$ticks" 'BEGIN { printf "%.1f", (b - a) / t * 1e6 / n }')
        echo "$i $us" >> "$work/cpu"
        line="$line | ${names[$i]} $us µs $((n / secs))/s"
    done
    echo "$line"
done
for i in "${!urls[@]}"; do
    awk -v i="$i" '$1 == i {print $2}' "$work/cpu" | sort -n |
        awk -v name="${names[$i]}" '{v[NR] = $1} END {m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "median %s: %.1f µs a delivery\n", name, m}'
done
