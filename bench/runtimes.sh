#!/usr/bin/env bash
# Building a runtime, hookbook (uv) next to `python -m venv` plus pip, in
# one run, for the same requirements (by default pandas==2.2.3, with the
# ipykernel==7.4.0 every runtime gets): the wall time of each, first with
# empty download caches (everything fetched from PyPI), then again into a
# new environment with the caches the first build filled. hookbook's time
# includes resolving the lock, storing it in the database and installing
# it; pip's, making the environment and installing. Both compile the
# installed modules to bytecode (pip by default, hookbook by asking uv),
# and both fetch from the same PyPI over the same network, one after the
# other.
#
#   bench/runtimes.sh [REQUIREMENT...]
#
# Needs python3 with venv, and network access to PyPI; uv (pinned) and
# ipykernel go into target/bench-python.
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=("$@")
[ ${#requirements[@]} -gt 0 ] || requirements=(pandas==2.2.3)
venv=target/bench-python
if ! "$venv/bin/python" -c 'import ipykernel' 2>/dev/null || ! "$venv/bin/uv" --version >/dev/null 2>&1; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check ipykernel==7.4.0 uv==0.9.5
fi
cargo build --release --quiet --bin hookbook
bin=$PWD/target/release/hookbook
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

flags=()
for r in "${requirements[@]}"; do flags+=(--requirement "$r"); done
seconds() { python3 -c 'import sys, time; print(f"{time.time() - float(sys.argv[1]):.1f}")' "$1"; }

# hookbook: `runtime add` on a fresh data dir each time, the uv cache kept
# between the two builds.
hookbook_build() {
    local start
    "$bin" migrate --data-dir "$work/hb-$1" >/dev/null
    start=$(python3 -c 'import time; print(time.time())')
    UV_CACHE_DIR="$work/uv-cache" "$bin" runtime add --data-dir "$work/hb-$1" --python "$PWD/$venv/bin/python" \
        --name bench "${flags[@]}" >/dev/null 2>"$work/hb-$1.log" \
        || { cat "$work/hb-$1.log" >&2; exit 1; }
    seconds "$start"
}

# pip: a new environment each time, the pip cache kept between the two.
pip_build() {
    local start
    start=$(python3 -c 'import time; print(time.time())')
    python3 -m venv "$work/pip-$1"
    "$work/pip-$1/bin/pip" install --quiet --disable-pip-version-check --cache-dir "$work/pip-cache" \
        ipykernel==7.4.0 "${requirements[@]}"
    seconds "$start"
}

echo "== building a runtime with ${requirements[*]} and ipykernel==7.4.0"
hb_cold=$(hookbook_build cold)
pip_cold=$(pip_build cold)
hb_warm=$(hookbook_build warm)
pip_warm=$(pip_build warm)
ratio() { python3 -c 'import sys; print(f"{float(sys.argv[2]) / float(sys.argv[1]):.1f}")' "$1" "$2"; }
printf '%-34s %10s %10s %8s\n' "" "hookbook" "venv+pip" "ratio"
printf '%-34s %9ss %9ss %7sx\n' "empty caches (all from PyPI)" "$hb_cold" "$pip_cold" "$(ratio "$hb_cold" "$pip_cold")"
printf '%-34s %9ss %9ss %7sx\n' "caches filled by the first build" "$hb_warm" "$pip_warm" "$(ratio "$hb_warm" "$pip_warm")"
