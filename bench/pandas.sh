#!/usr/bin/env bash
# A notebook whose first cell imports pandas, as senders see it: hookbook
# with the notebook in a runtime that preloads pandas (its own fork
# server), in the same runtime without the preload, and a notebook that
# imports nothing in the default environment, next to papermill running the
# pandas notebook from the command line, in one run. Latency is from just
# before the webhook is posted to the moment the first cell ran (it prints
# time.time() after `import pandas`); for papermill, from the command's
# start. For each hookbook case: the first delivery after start alone (a
# runtime's pool and fork server start on its first run), then (a) one
# delivery at a time, each sent as soon as the previous job ended, and
# (b) open-loop arrivals at RATE a second for SECONDS. One server, 2 runs
# at once, two warm kernels per runtime (the default).
#
#   bench/pandas.sh [SECONDS] [RATE]   (default 20 s at 2 a second)
#
# Needs network access to PyPI: the runtimes are built with uv, and
# papermill, ipykernel and pandas (pinned) go into target/bench-python.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
rate=${2:-2}
venv=target/bench-python
if ! "$venv/bin/python" -c 'import papermill, ipykernel, pandas' 2>/dev/null || ! "$venv/bin/uv" --version >/dev/null 2>&1; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check ipykernel==7.4.0 papermill==2.7.0 uv==0.9.5 pandas==2.2.3
fi
export PATH="$PWD/$venv/bin:$PATH"
"$venv/bin/python" -m ipykernel install --sys-prefix --name python3 >/dev/null

cargo build --release --quiet --bin hookbook
bin=target/release/hookbook
work=$(mktemp -d)
pid=
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT

# notebook FILE RUNTIME FIRST-CELL: the first cell prints when it ran.
notebook() {
    python3 - "$@" <<'PY'
import json, sys
path, runtime, source = sys.argv[1:4]
metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
if runtime:
    metadata["esriNotebookRuntime"] = {"notebookRuntimeName": runtime, "notebookRuntimeVersion": "1"}
cells = [
    {"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]}, "source": "n = 0", "outputs": [], "execution_count": None},
    {"cell_type": "code", "id": "first", "metadata": {}, "source": source, "outputs": [], "execution_count": None},
]
json.dump({"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}, open(path, "w"))
PY
}
pandas_cell="import pandas, time
print('FIRST', repr(time.time()))"
plain_cell="import time
print('FIRST', repr(time.time()))"
notebook "$work/preloaded.ipynb" "Pandas" "$pandas_cell"
notebook "$work/imported.ipynb" "Pandas without preload" "$pandas_cell"
notebook "$work/plain.ipynb" "" "$plain_cell"
notebook "$work/papermill.ipynb" "" "$pandas_cell"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
data="$work/hb"
$bin migrate --data-dir "$data" >/dev/null
echo pw | $bin user add --data-dir "$data" --username admin --role administrator --password-stdin >/dev/null
HOOKBOOK_LOG=warn $bin serve --data-dir "$data" --listen "127.0.0.1:$port" --python "$PWD/$venv/bin/python" \
    --max-concurrent-runs 2 &
pid=$!
for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.05; done
base="http://127.0.0.1:$port/notebooks"
secret=9f8b47c2e4a748d3b58e2a17ad8f2e4b
token=$(curl -s -d username=admin -d password=pw -d f=json "$base/sharing/rest/generateToken" | sed 's/.*"token":"\([^"]*\)".*/\1/')
register() {
    curl -s -d "name=$1" -d requirements=pandas==2.2.3 -d "preload=$2" -d f=json -d "token=$token" \
        "$base/admin/notebooks/runtimes/register" | sed 's/.*"id":"\([^"]*\)".*/\1/'
}
ready() {
    for _ in $(seq 1200); do
        state=$(curl -s "$base/admin/notebooks/runtimes/$1?f=json&token=$token" | sed 's/.*"state":"\([^"]*\)".*/\1/')
        [ "$state" = ready ] && return
        [ "$state" = failed ] && { echo "the runtime $1 failed to build" >&2; exit 1; }
        sleep 0.5
    done
    echo "the runtime $1 was not built in 10 minutes" >&2; exit 1
}
receiver() {
    local item
    item=$(curl -s -F f=json -F "title=$1" -F "file=@$work/$1.ipynb" -F "token=$token" "$base/sharing/rest/content/users/admin/addItem" | sed 's/.*"id":"\([^"]*\)".*/\1/')
    curl -s -d "name=$1" -d "itemId=$item" -d "secret=$secret" -d signatureHeaders=x-esrihook-signature -d f=json -d "token=$token" \
        "$base/admin/notebooks/webhookReceivers/create" | sed 's/.*"url":"\([^"]*\)".*/\1/'
}
preloaded=$(register "Pandas" pandas)
imported=$(register "Pandas without preload" "")
ready "$preloaded"
ready "$imported"
# The default pool is full before the first delivery (the state, not a time).
for _ in $(seq 600); do curl -s "http://127.0.0.1:$port/metrics" | grep -q '^hookbook_warm_kernels 2' && break; sleep 0.1; done
for case in preloaded imported plain; do
    url=$(receiver "$case")
    label="hookbook: $case ($(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["metadata"].get("esriNotebookRuntime"); print("runtime " + m["notebookRuntimeName"] if m else "default environment")' "$work/$case.ipynb"))"
    "$venv/bin/python" bench/runs.py sequential "$base" "$token" "$url" "$secret" 20 "$rate" "$secs" "$label"
done
kill "$pid"; wait "$pid" 2>/dev/null || true
pid=
"$venv/bin/python" bench/runs.py papermill "$work/papermill.ipynb" 10
