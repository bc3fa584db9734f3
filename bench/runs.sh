#!/usr/bin/env bash
# Notebook runs as senders see them, hookbook next to papermill in one run
# (bench/runs.py says what each figure is): hookbook with kernels forked
# from its fork server (the default), then with kernels started cold, then
# papermill running the same notebook from the command line. No pause is
# arranged between deliveries other than their arrival schedule.
#
#   bench/runs.sh [SECONDS]   (each open-loop rate runs that long; default 60)
#
# Installs papermill and ipykernel (pinned) into target/bench-python.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
venv=target/bench-python
if ! "$venv/bin/python" -c 'import papermill, ipykernel' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check ipykernel==7.4.0 papermill==2.7.0
fi
export PATH="$PWD/$venv/bin:$PATH"
"$venv/bin/python" -m ipykernel install --sys-prefix --name python3 >/dev/null

cargo build --release --quiet --bin hookbook --example flood
bin=target/release/hookbook
work=$(mktemp -d)
pid=
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT

# The notebook: its first cell records when it ran.
cat > "$work/bench.ipynb" <<'NB'
{"cells": [
 {"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]}, "source": "n = 0", "outputs": [], "execution_count": null},
 {"cell_type": "code", "id": "first", "metadata": {}, "source": "import time\nprint('FIRST', repr(time.time()))", "outputs": [], "execution_count": null}
], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}
NB

# One hookbook server per way of starting kernels, each on a fresh data dir.
measure() {
    local start=$1 data="$work/hb-$1"
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    $bin migrate --data-dir "$data" >/dev/null
    echo pw | $bin user add --data-dir "$data" --username admin --role administrator --password-stdin >/dev/null
    HOOKBOOK_LOG=warn $bin serve --data-dir "$data" --listen "127.0.0.1:$port" --python "$PWD/$venv/bin/python" \
        --max-concurrent-runs 2 --kernel-start "$start" &
    pid=$!
    for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.05; done
    local base="http://127.0.0.1:$port/notebooks"
    local token item url secret=9f8b47c2e4a748d3b58e2a17ad8f2e4b
    token=$(curl -s -d username=admin -d password=pw -d f=json "$base/sharing/rest/generateToken" | sed 's/.*"token":"\([^"]*\)".*/\1/')
    item=$(curl -s -F f=json -F title=bench -F "file=@$work/bench.ipynb" -F "token=$token" "$base/sharing/rest/content/users/admin/addItem" | sed 's/.*"id":"\([^"]*\)".*/\1/')
    url=$(curl -s -d name=bench -d "itemId=$item" -d "secret=$secret" -d signatureHeaders=x-esrihook-signature -d f=json -d "token=$token" \
        "$base/admin/notebooks/webhookReceivers/create" | sed 's/.*"url":"\([^"]*\)".*/\1/')
    # The pool is full before the first delivery (the state, not a time).
    for _ in $(seq 600); do curl -s "http://127.0.0.1:$port/metrics" | grep -q '^hookbook_warm_kernels 2' && break; sleep 0.1; done
    "$venv/bin/python" bench/runs.py hookbook "$base" "$token" "$url" "$secret" "$pid" "$secs" \
        "hookbook --kernel-start $start, 2 runs at once"
    kill "$pid"; wait "$pid" 2>/dev/null || true
}
measure fork
measure cold
"$venv/bin/python" bench/runs.py papermill "$work/bench.ipynb" 10
