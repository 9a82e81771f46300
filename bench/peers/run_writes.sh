#!/usr/bin/env bash
# Runs `lunadb bench writes` and its SQLAlchemy peer on the same machine and prints them side by
# side with ratios. SQLAlchemy comes from PyPI into a throwaway virtualenv (removed on exit).
#
#   bench/peers/run_writes.sh [--rows N] [--reads N] [--lunadb PATH/TO/lunadb]
#
# LUNADB_BIN may name the binary instead of --lunadb; by default the newest build-*/lunadb of this
# checkout is used.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rows=20000
reads=2000
lunadb="${LUNADB_BIN:-}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --reads) reads="$2"; shift 2 ;;
    --lunadb) lunadb="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "run_writes.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ -z "$lunadb" ]]; then
  lunadb="$(ls -t "$root"/build*/lunadb 2>/dev/null | head -n 1 || true)"
fi
if [[ -z "$lunadb" || ! -x "$lunadb" ]]; then
  echo "run_writes.sh: no lunadb binary found; build lunadb_cli or pass --lunadb PATH" >&2
  exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/lunadb-peer-writes-XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "creating a throwaway virtualenv with SQLAlchemy from PyPI ..." >&2
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "sqlalchemy>=2,<3" >&2

echo "running lunadb bench writes ($lunadb) ..." >&2
"$lunadb" bench writes --json --rows "$rows" --reads "$reads" > "$work/lunadb.json"
echo "running the SQLAlchemy peer (ORM and Core) ..." >&2
"$work/venv/bin/python" "$here/sqlalchemy_writes.py" --json --rows "$rows" --reads "$reads" > "$work/sqlalchemy.json"

"$work/venv/bin/python" - "$work/lunadb.json" "$work/sqlalchemy.json" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1]))
peer = json.load(open(sys.argv[2]))
print(f"SQLite {ours['sqlite_version']} (lunadb) / {peer['sqlite_version']} (Python), SQLAlchemy "
      f"{peer['sqlalchemy_version']}; {ours['rows']} rows, batches of {ours['batch_size']}, "
      f"{ours['reads']} reads of the newest {ours['read_limit']}")
print("wall = rows per elapsed second; cpu = rows per CPU second of the process (steadier on a busy machine)")
header = f"{'':34}{'lunadb':>12}{'raw sqlite3':>13}{'SA ORM':>12}{'SA Core':>12}{'x ORM':>9}{'x Core':>9}{'/ raw':>8}"
print(header)
print("-" * len(header))
def row(label, key, raw_key):
    for unit, suffix in (("wall", "_rows_per_s"), ("cpu", "_rows_per_cpu_s")):
        mine = ours[key + suffix]
        raw = ours[raw_key + suffix] if raw_key else None
        orm = peer["orm_" + key + suffix]
        core = peer["core_" + key + suffix]
        raw_text = f"{raw:>13.0f}" if raw else f"{'':>13}"
        vs_raw = f"{mine / raw:>8.2f}" if raw else f"{'':>8}"
        print(f"{label + ' (' + unit + ')':34}{mine:>12.0f}{raw_text}{orm:>12.0f}{core:>12.0f}"
              f"{mine / orm:>9.1f}{mine / core:>9.1f}{vs_raw}")
row("insert, 1 row/tx, rows/s", "single_row_tx", "raw_sqlite3_single_row_tx")
row("insert, 1000 rows/tx, rows/s", "batch", "raw_sqlite3_batch")
for p in ("p50", "p99"):
    mine = ours[f"read_latest_{p}_us"]
    orm = peer[f"orm_read_latest_{p}_us"]
    core = peer[f"core_read_latest_{p}_us"]
    print(f"{'read newest 50, ' + p + ' us':34}{mine:>12.1f}{'':>13}{orm:>12.1f}{core:>12.1f}"
          f"{orm / mine:>9.1f}{core / mine:>9.1f}")
print("x ORM / x Core: how many times faster lunadb is (for reads: latency of the peer / lunadb's)")
PY
