#!/usr/bin/env bash
# Runs `lunadb bench vectors` and the same workload on ChromaDB and raw hnswlib (each in a fresh
# process, one after the other), then prints the three JSON lines and lunadb's ratios to each peer.
#   bench/peers/run_vectors.sh [N] [DIM]        (default 10000 384)
# Needs: python3-venv, network access to PyPI (a throwaway venv under ${PEER_VENV:-/tmp/lunadb-peer-venv}),
# and a built lunadb (LUNADB=path/to/lunadb, default build/lunadb).
# On a shared machine compare the *_cpu_* figures (process CPU time, all threads): wall times
# move with the load average, which is printed before each run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
n=${1:-10000}
dim=${2:-384}
venv=${PEER_VENV:-/tmp/lunadb-peer-venv}
lunadb=${LUNADB:-$here/../../build/lunadb}

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet chromadb hnswlib numpy
fi

load() { echo "load $(cut -d' ' -f1-3 /proc/loadavg) before $1" >&2; }
load lunadb
# No ef sweep here: this compares ingest, memory, disk and the default query (run_ef_sweep.sh sweeps).
ours=$("$lunadb" bench vectors --n "$n" --dim "$dim" --ef-sweep "" --json)
# The peers build their graphs with lunadb's parameters (M, ef_construction, ef_search).
params=$("$venv/bin/python" -c 'import json,sys; o=json.loads(sys.argv[1]); print(o["m"], o["ef_construction"], o["ef_search"])' "$ours")
read -r m efc efs <<<"$params"
graph=(--m "$m" --ef-construction "$efc" --ef-search "$efs")
load chromadb
chroma=$("$venv/bin/python" "$here/vector_peers.py" --engine chromadb --n "$n" --dim "$dim" "${graph[@]}")
load hnswlib
hnsw=$("$venv/bin/python" "$here/vector_peers.py" --engine hnswlib --n "$n" --dim "$dim" "${graph[@]}")
echo "lunadb   $ours"
echo "chromadb $chroma"
echo "hnswlib  $hnsw"
"$venv/bin/python" - "$ours" "$chroma" "$hnsw" <<'PY'
import json, sys
ours, chroma, hnsw = (json.loads(a) for a in sys.argv[1:])
keys = ["ingest_per_s", "ingest_per_cpu_s", "query_p50_us", "query_p99_us", "query_cpu_p50_us", "query_cpu_p99_us",
        "recall_at_10", "rss_mb", "rss_peak_mb", "disk_mb", "reopen_ms", "reopen_cpu_ms"]
print("%-17s %12s %12s %12s   %10s %10s" % ("", "lunadb", "chromadb", "hnswlib", "/chromadb", "/hnswlib"))
for k in keys:
    ratio = lambda peer: ("%.2f" % (ours[k] / peer[k])) if peer.get(k) and k in ours else "n/a"
    print("%-17s %12s %12s %12s   %10s %10s" % (k, ours.get(k), chroma.get(k), hnsw.get(k), ratio(chroma), ratio(hnsw)))
PY
