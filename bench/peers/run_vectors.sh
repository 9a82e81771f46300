#!/usr/bin/env bash
# Runs `lunadb bench vectors` and the same workload on ChromaDB and raw hnswlib (each in a fresh
# process), then prints the three JSON lines and lunadb's ratios to each peer.
#   bench/peers/run_vectors.sh [N] [DIM]        (default 10000 384)
# Needs: python3-venv, network access to PyPI (a throwaway venv under ${PEER_VENV:-/tmp/lunadb-peer-venv}),
# and a built lunadb (LUNADB=path/to/lunadb, default build/lunadb).
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

ours=$("$lunadb" bench vectors --n "$n" --dim "$dim" --json)
chroma=$("$venv/bin/python" "$here/vector_peers.py" --engine chromadb --n "$n" --dim "$dim")
hnsw=$("$venv/bin/python" "$here/vector_peers.py" --engine hnswlib --n "$n" --dim "$dim")
echo "lunadb   $ours"
echo "chromadb $chroma"
echo "hnswlib  $hnsw"
"$venv/bin/python" - "$ours" "$chroma" "$hnsw" <<'PY'
import json, sys
ours, chroma, hnsw = (json.loads(a) for a in sys.argv[1:])
keys = ["ingest_per_s", "query_p50_us", "query_p99_us", "recall_at_10", "rss_mb", "disk_mb", "reopen_ms"]
print("%-14s %14s %14s" % ("lunadb / peer", "chromadb", "hnswlib"))
for k in keys:
    ratio = lambda peer: ("%.2f" % (ours[k] / peer[k])) if peer.get(k) else "n/a"
    print("%-14s %14s %14s" % (k, ratio(chroma), ratio(hnsw)))
PY
