#!/usr/bin/env bash
# lunadb and raw hnswlib on the very same data, queries and ground truth, ef by ef.
#   bench/peers/run_ef_sweep.sh [lunadb bench vectors options...]
# e.g. bench/peers/run_ef_sweep.sh --distribution uniform --count 100000 --dim 384
#      bench/peers/run_ef_sweep.sh --data build/bench-data/minilm/data.npy --queries build/bench-data/minilm/queries.npy
# lunadb's bench runs first with --export (data.fvecs, queries.fvecs, gt.ivecs into EXPORT_DIR,
# default a temporary folder), then bench/peers/hnswlib_sweep.py builds hnswlib with the same M
# and ef_construction over those files and runs the same sweep (EF_SWEEP, default
# 10,20,40,80,100,200,400). Prints both JSON lines, then a table with the p50 ratio lunadb/hnswlib.
# The venv (hnswlib and numpy from PyPI) is made once in build/peer-venv (PEER_VENV moves it);
# LUNADB names the binary (default build/lunadb).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${PEER_VENV:-$root/build/peer-venv}
lunadb=${LUNADB:-$root/build/lunadb}
sweep=${EF_SWEEP:-10,20,40,80,100,200,400}
requirements=("hnswlib==0.8.0" "numpy")
# shellcheck source=../../scripts/lib/venv.sh
source "$root/scripts/lib/venv.sh"
ensure_venv "$venv" "${requirements[@]}"
# shellcheck source=export_dir.sh
source "$here/export_dir.sh"
use_export_dir lunadb-ef-sweep
load lunadb
ours=$("$lunadb" bench vectors "$@" --ef-sweep "$sweep" --export "$export_dir" --json)
params=$("$venv/bin/python" -c 'import json,sys; o=json.loads(sys.argv[1]); print(o["m"], o["ef_construction"], o["k"], o["distance"])' "$ours")
read -r m efc k distance <<<"$params"
load hnswlib
peer=$("$venv/bin/python" "$here/hnswlib_sweep.py" "$export_dir" --m "$m" --ef-construction "$efc" --k "$k" \
  --space "$distance" --ef-sweep "$sweep")
echo "lunadb  $ours"
echo "hnswlib $peer"
"$venv/bin/python" - "$ours" "$peer" <<'PY'
import json, sys
ours, peer = (json.loads(a) for a in sys.argv[1:])
k = ours["k"]
print(f"{ours['data']}: {ours['n']} x {ours['dim']}, {ours['queries']} queries ({ours['queries_from']}), "
      f"M {ours['m']}, ef_construction {ours['ef_construction']}, ground truth {ours['ground_truth']}")
print(f"lunadb default plan: {ours['search_plan']}")
head = f"{'search':<16} {'lunadb R@'+str(k):>12} {'p50 us':>7} {'p95 us':>7}   {'hnswlib R@'+str(k):>12} {'p50 us':>7} {'p95 us':>7}   {'p50 ratio':>9}"
print(head)
theirs = {row["ef"]: row for row in peer["rows"]}
for row in ours["rows"]:
    if row["search"] == "ef":
        name = f"ef {row['ef']}"
        other = theirs.get(row["ef"])
    else:
        name = row["search"] + (f" (ef {row['ef']})" if row.get("ef") else "")
        other = None
    line = f"{name:<16} {row['recall']:>12.4f} {row['p50_us']:>7.0f} {row['p95_us']:>7.0f}"
    if other:
        ratio = row["p50_us"] / other["p50_us"] if other["p50_us"] else float("nan")
        line += f"   {other['recall']:>12.4f} {other['p50_us']:>7.0f} {other['p95_us']:>7.0f}   {ratio:>9.2f}"
    print(line)
PY
