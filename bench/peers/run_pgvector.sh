#!/usr/bin/env bash
# lunadb on pgvector beside a hand-written psycopg + pgvector client, on the very same data,
# queries and ground truth, on the same server.
#   VECTOR_URL=postgresql://postgres@127.0.0.1:5433/bench bench/peers/run_pgvector.sh [lunadb bench vectors options...]
# e.g. bench/peers/run_pgvector.sh --count 20000 --dim 768 --queries 500
# lunadb's bench (--backend pgvector) runs first with --export (data.fvecs, queries.fvecs,
# gt.ivecs, gt_filtered.ivecs into EXPORT_DIR, default a temporary folder), then
# bench/peers/pgvector_peer.py makes its own table with the same M, ef_construction, batch size and
# hnsw.ef_search and runs the same adds and queries. Prints both JSON lines, then the table with
# the ratio lunadb/peer of every figure. VECTOR_URL defaults to a database "lunadb_bench" on the
# test server (127.0.0.1:5433), created when missing. The venv (psycopg, pgvector, numpy from
# PyPI) is made once in build/pgvector-peer-venv (PEER_VENV moves it); LUNADB names the binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${PEER_VENV:-$root/build/pgvector-peer-venv}
lunadb=${LUNADB:-$root/build/lunadb}
requirements=("psycopg[binary]==3.3.9" "pgvector==0.5.1" "numpy==2.4.6")
# shellcheck source=../../scripts/lib/venv.sh
source "$root/scripts/lib/venv.sh"
ensure_venv "$venv" "${requirements[@]}"
if [[ -z "${VECTOR_URL:-}" ]]; then
  export VECTOR_URL=postgresql://postgres@127.0.0.1:5433/lunadb_bench
  if ! psql -X -q -h 127.0.0.1 -p 5433 -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'lunadb_bench'" | grep -q 1; then
    psql -X -q -h 127.0.0.1 -p 5433 -U postgres -d postgres -c "CREATE DATABASE lunadb_bench"
  fi
fi
# shellcheck source=export_dir.sh
source "$here/export_dir.sh"
use_export_dir lunadb-pgvector-bench
load lunadb
ours=$(LUNA_ENV_FILE= "$lunadb" bench vectors --backend pgvector --ef-sweep "" "$@" --export "$export_dir" --json)
params=$("$venv/bin/python" -c 'import json,sys; o=json.loads(sys.argv[1]); print(o["m"], o["ef_construction"], o["default_ef"], o["batch"], o["k"], o["distance"], o["filter_buckets"])' "$ours")
read -r m efc efs batch k distance buckets <<<"$params"
load peer
peer=$("$venv/bin/python" "$here/pgvector_peer.py" "$export_dir" --url "$VECTOR_URL" --m "$m" --ef-construction "$efc" \
  --ef-search "$efs" --batch "$batch" --k "$k" --distance "$distance" --buckets "$buckets")
echo "lunadb $ours"
echo "peer   $peer"
"$venv/bin/python" - "$ours" "$peer" <<'PY'
import json, sys
ours, peer = (json.loads(a) for a in sys.argv[1:])
# lunadb/peer on every figure: for ingest/s and recall higher is better (1.2x slower = 0.83), for times lower (1.2x = 1.20).
keys = ["ingest_per_s", "query_p50_us", "query_p99_us", "filtered_p50_us", "filtered_p99_us", "recall_at_10",
        "filtered_recall_at_10", "ingest_cpu_s", "query_cpu_p50_us", "filtered_cpu_p50_us"]
print("%-22s %12s %12s %14s" % ("", "lunadb", "peer", "lunadb/peer"))
for key in keys:
    a, b = ours.get(key), peer.get(key)
    ratio = "%.2f" % (a / b) if a is not None and b else "n/a"
    print("%-22s %12s %12s %14s" % (key, a, b, ratio))
PY
