#!/usr/bin/env bash
# Runs `lunadb bench pool` and its SQLAlchemy 2.x peer (sqlalchemy_pool.py: QueuePool + psycopg2) in
# the same run against the same PostgreSQL database, with the same thread count, duration and pool
# settings, and prints them side by side with ratios. SQLAlchemy and psycopg2-binary come from PyPI
# into a throwaway virtualenv.
#
#   bench/peers/run_pool.sh [--threads N] [--seconds S] [--overhead-iterations N] [--lunadb PATH]
#
# Defaults: 32 threads, 10 s, 20000 uncontended pairs; pool size 10 + overflow 20, the other
# DB_POOL_* settings as lunadb resolves them (`lunadb config`), handed to create_engine().
# Server: LUNADB_BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres; without a
# database name, /postgres is used). Both sides create and drop the table lunadb_bench_pool there,
# one after the other, so two runs against the same database must not overlap.
# LUNADB_BIN may name the binary instead of --lunadb; by default the newest build*/lunadb.
#
# The Python side runs on threads that share the GIL: that is how Luna's Python version uses its
# pool, so it is part of what is compared. lunadb runs twice: with its defaults (pre-ping only for
# connections idle >= DB_POOL_PRE_PING_IDLE = 10 s, so none in a short run) and with
# DB_POOL_PRE_PING_IDLE=0 (a ping at every checkout, as SQLAlchemy's pool_pre_ping=True does).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
threads=32
seconds=10
overhead_iterations=20000
lunadb="${LUNADB_BIN:-}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --overhead-iterations) overhead_iterations="$2"; shift 2 ;;
    --lunadb) lunadb="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run_pool.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ -z "$lunadb" ]]; then
  lunadb="$(ls -t "$root"/build*/lunadb 2>/dev/null | head -n 1 || true)"
fi
if [[ -z "$lunadb" || ! -x "$lunadb" ]]; then
  echo "run_pool.sh: no lunadb binary found; build lunadb_cli or pass --lunadb PATH" >&2
  exit 2
fi
lunadb="$(realpath "$lunadb")"  # the runs below happen in a scratch directory
url="${LUNADB_BENCH_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
# run_writes.sh takes the same variable without a database name.
if [[ ! "${url#*://}" =~ / ]]; then url="$url/postgres"; fi

work="$(mktemp -d "${TMPDIR:-/tmp}/lunadb-peer-pool-XXXXXX")"
trap 'rm -rf "$work"' EXIT

settings=(--set "DB_URL=$url" --set DB_POOL_SIZE=10 --set DB_MAX_OVERFLOW=20)
# Run from the scratch directory so that no ./.env changes lunadb's side only.
cd "$work"
setting() { "$lunadb" "${settings[@]}" config | awk -v k="$1" '$1 == k { print $2 }'; }
pool_timeout="$(setting DB_POOL_TIMEOUT)"
pool_recycle="$(setting DB_POOL_RECYCLE)"
pre_ping="$(setting DB_POOL_PRE_PING)"
pre_ping_idle="$(setting DB_POOL_PRE_PING_IDLE)"

echo "creating a throwaway virtualenv with SQLAlchemy and psycopg2 from PyPI ..." >&2
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "sqlalchemy>=2,<3" psycopg2-binary >&2

load_before="$(uptime)"
# A failed run (errors or timeouts: exit 1 with the JSON printed) still goes into the table.
echo "lunadb bench pool, defaults ($lunadb) ..." >&2
"$lunadb" "${settings[@]}" bench pool --json --threads "$threads" --seconds "$seconds" \
  --overhead-iterations "$overhead_iterations" > "$work/lunadb.json" || true
echo "the SQLAlchemy peer ..." >&2
"$work/venv/bin/python" "$here/sqlalchemy_pool.py" --json --url "$url" --threads "$threads" --seconds "$seconds" \
  --overhead-iterations "$overhead_iterations" --pool-size 10 --max-overflow 20 --pool-timeout "$pool_timeout" \
  --pool-recycle "$pool_recycle" --pre-ping "$pre_ping" > "$work/sqlalchemy.json" || true
echo "lunadb bench pool, DB_POOL_PRE_PING_IDLE=0 ..." >&2
"$lunadb" "${settings[@]}" --set DB_POOL_PRE_PING_IDLE=0 bench pool --json --threads "$threads" \
  --seconds "$seconds" --overhead-iterations "$overhead_iterations" > "$work/lunadb-ping0.json" || true
load_after="$(uptime)"

"$work/venv/bin/python" - "$work" "$pre_ping_idle" "$load_before" "$load_after" <<'PY'
import json, os, sys
work, idle, load_before, load_after = sys.argv[1:5]
runs = {}
for name in ("lunadb", "lunadb-ping0", "sqlalchemy"):
    path = os.path.join(work, name + ".json")
    try:
        runs[name] = json.load(open(path))
    except (OSError, ValueError):
        sys.exit(f"run_pool.sh: {name} printed no JSON (see its messages above)")
ours, ping0, peer = runs["lunadb"], runs["lunadb-ping0"], runs["sqlalchemy"]
print(f"PostgreSQL {ours['server_version']}; SQLAlchemy {peer['sqlalchemy_version']} + psycopg2 "
      f"{peer['psycopg2_version']} on Python {peer['python_version']} (threads share the GIL)")
print(f"{ours['threads']} threads, {ours['seconds']:.1f} s; pool size {ours['pool_size']} + overflow "
      f"{ours['max_overflow']}; pool_timeout {peer['pool_timeout']:g} s, pool_recycle {peer['pool_recycle']} s, "
      f"pool_pre_ping {str(peer['pool_pre_ping']).lower()}")
print(f"lunadb = defaults (pre-ping only after {idle} s idle); ping=0 = DB_POOL_PRE_PING_IDLE=0 (ping at every")
print("checkout, like SQLAlchemy's pool_pre_ping). x: how many times better lunadb is (throughput: lunadb / SA;")
print("latencies: SA / lunadb). Uncontended SA = pool.connect()/close(); SA engine.connect()/close() below it.")
header = f"{'':40}{'lunadb':>12}{'ping=0':>12}{'SQLAlchemy':>12}{'x':>8}{'x ping=0':>10}"
print(header)
print("-" * len(header))

def show(label, key, fmt, ratio, peer_key=None):
    mine, mine0, theirs = ours.get(key), ping0.get(key), peer.get(peer_key or key)
    def cell(v):
        return f"{'n/a':>12}" if v is None else f"{v:>12{fmt}}"
    def x(a, width):
        if ratio is None or a is None or theirs is None or a == 0 or theirs == 0:
            return " " * width
        value = a / theirs if ratio == "higher" else theirs / a
        return f"{value:>{width}.1f}"
    print(f"{label:40}{cell(mine)}{cell(mine0)}{cell(theirs)}{x(mine, 8)}{x(mine0, 10)}")

show("transactions/s", "transactions_per_second", ".0f", "higher")
show("transactions", "transactions", "d", None)
show("checkout wait p50, us", "checkout_wait_p50_us", ".1f", "lower")
show("checkout wait p99, us", "checkout_wait_p99_us", ".1f", "lower")
show("checkouts that waited", "waits", "d", None)
show("most connections open", "peak_connections", "d", None)
show("timeouts", "timeouts", "d", None)
show("errors", "errors", "d", None)
show("uncontended checkout+return p50, us", "uncontended_checkout_return_p50_us", ".2f", "lower")
show("uncontended checkout+return p99, us", "uncontended_checkout_return_p99_us", ".2f", "lower")
show("  SA engine.connect()/close() p50, us", "uncontended_checkout_return_p50_us", ".2f", "lower",
     "engine_connect_close_p50_us")
show("  SA engine.connect()/close() p99, us", "uncontended_checkout_return_p99_us", ".2f", "lower",
     "engine_connect_close_p99_us")
for name, run in runs.items():
    if run.get("first_error"):
        print(f"first error ({name}): {run['first_error']}")
print(f"load before: {load_before.strip()}")
print(f"load after:  {load_after.strip()}")
PY
