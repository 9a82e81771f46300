#!/usr/bin/env bash
# `lunadb serve` against Chroma's own server (`chroma run`, from the same chromadb 1.5 wheel), both
# driven by chromadb.HttpClient in the same run on the same machine (bench/peers/serve_bench.py):
# N x DIM added in batches of 1000, 1000 single queries (k=10, with recall@10 against the exact
# answer), then 8 client processes querying at once; server RSS read from /proc at the end.
#   bench/peers/run_serve.sh [N] [DIM]        (default 100000 768)
# Needs a built lunadb (LUNADB, default build/lunadb) and the chromadb 1.5 venv that
# scripts/chroma-venvs.sh makes (network access to PyPI the first time).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
n=${1:-100000}
dim=${2:-768}
lunadb=${LUNADB:-$root/build/lunadb}
python=$("$root/scripts/chroma-venvs.sh" | tr ':' '\n' | grep chromadb-1.5)
venv_bin=$(dirname "$python")
work=$(mktemp -d /tmp/lunadb-serve-bench.XXXXXX)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() {
  for _ in $(seq 1 300); do
    "$python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$1/api/v2/heartbeat', timeout=1)" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "server on port $1 did not come up" >&2; return 1
}
load() { echo "load $(cut -d' ' -f1-3 /proc/loadavg) before $1" >&2; }

# lunadb twice: as it ships (the search tuner raises ef until sampled recall@10 reaches 0.99, or
# scans), and with the tuner off, searching at ef_search 100 as Chroma's server does: the second
# compares the same work, the first what a user gets.
run_lunadb() {
  local port; port=$(free_port)
  load "lunadb serve $*"
  rm -rf "$work/lunadb"
  env -i PATH="$PATH" HOME="$HOME" CHROMA_PATH="$work/lunadb" LUNA_DATA_DIR="$work/data" \
    "$lunadb" serve --port "$port" "$@" >"$work/lunadb.out" 2>/dev/null &
  server=$!
  wait_up "$port"
  "$python" "$here/serve_bench.py" --port "$port" --pid "$server" --n "$n" --dim "$dim"
  kill -TERM "$server"; wait "$server" || true; server=""
}
ours=$(run_lunadb)
fixed=$(run_lunadb --target-recall 0)

port=$(free_port)
load "chroma run"
"$venv_bin/chroma" run --path "$work/chroma" --host 127.0.0.1 --port "$port" >"$work/chroma.log" 2>&1 &
server=$!
wait_up "$port"
theirs=$("$python" "$here/serve_bench.py" --port "$port" --pid "$server" --n "$n" --dim "$dim")
kill -TERM "$server"; wait "$server" || true; server=""

echo "lunadb serve (tuned)  $ours"
echo "lunadb serve (ef 100) $fixed"
echo "chroma run            $theirs"
"$python" - "$ours" "$fixed" "$theirs" <<'PY'
import json, sys
ours, fixed, theirs = (json.loads(a) for a in sys.argv[1:])
# "better" is the factor by which lunadb is better: higher for rates, lower for times and memory.
rows = [("ingest_per_s", True), ("query_p50_ms", False), ("query_p99_ms", False), ("recall_at_10", True),
        ("clients_qps", True), ("rss_mb", False), ("rss_peak_mb", False)]
print("%-14s %12s %12s %12s %9s %9s" % ("", "lunadb", "lunadb ef100", "chroma", "better", "ef100 better"))
for key, higher in rows:
    a, f, b = ours[key], fixed[key], theirs[key]
    factor = lambda x: (x / b if higher else b / x) if x and b else float("nan")
    print("%-14s %12s %12s %12s %8.2fx %8.2fx" % (key, a, f, b, factor(a), factor(f)))
PY
