#!/usr/bin/env bash
# Runs `lunadb bench writes` and its SQLAlchemy 2.x peer (ORM and Core) on the same machine, in the
# same run, on SQLite and on the local PostgreSQL and MariaDB servers, and prints them side by side
# with ratios. SQLAlchemy, psycopg2 and PyMySQL come from PyPI into a throwaway virtualenv.
#
#   bench/peers/run_writes.sh [--rows N] [--reads N] [--lunadb PATH] [--backends "sqlite postgresql mysql"]
#
# Servers: LUNADB_BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432) and
# LUNADB_BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306), without a database name: a scratch
# database is created on each (utf8mb4 on MariaDB) and dropped at the end.
# LUNADB_BIN may name the binary instead of --lunadb; by default the newest build*/lunadb.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rows=20000
reads=2000
backends="sqlite postgresql mysql"
lunadb="${LUNADB_BIN:-}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --reads) reads="$2"; shift 2 ;;
    --lunadb) lunadb="$2"; shift 2 ;;
    --backends) backends="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
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
pg_server="${LUNADB_BENCH_PG_URL:-postgresql://postgres@127.0.0.1:5432}"
mysql_server="${LUNADB_BENCH_MYSQL_URL:-mysql://root@127.0.0.1:3306}"
scratch_db="lunadb_bench_writes_$$"

work="$(mktemp -d "${TMPDIR:-/tmp}/lunadb-peer-writes-XXXXXX")"
cleanup() {
  [[ " $backends " == *" postgresql "* ]] && psql "$pg_server/postgres" -qc "DROP DATABASE IF EXISTS $scratch_db" >/dev/null 2>&1
  [[ " $backends " == *" mysql "* ]] && "$work/venv/bin/python" - "$mysql_server" "$scratch_db" drop <<'PY' >/dev/null 2>&1
import sys, urllib.parse, pymysql
u = urllib.parse.urlparse(sys.argv[1])
c = pymysql.connect(host=u.hostname, port=u.port or 3306, user=u.username or "root", password=u.password or "")
c.cursor().execute(f"DROP DATABASE IF EXISTS `{sys.argv[2]}`")
PY
  rm -rf "$work"
}
trap cleanup EXIT

echo "creating a throwaway virtualenv with SQLAlchemy, psycopg2 and PyMySQL from PyPI ..." >&2
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "sqlalchemy>=2,<3" psycopg2-binary pymysql >&2

for backend in $backends; do
  case "$backend" in
    sqlite)
      ours_args=(); peer_args=() ;;
    postgresql)
      psql "$pg_server/postgres" -qc "CREATE DATABASE $scratch_db" >/dev/null
      ours_args=(--url "${pg_server/postgresql:/postgresql+psycopg2:}/$scratch_db")
      peer_args=(--url "${pg_server/postgresql:/postgresql+psycopg2:}/$scratch_db") ;;
    mysql)
      "$work/venv/bin/python" - "$mysql_server" "$scratch_db" <<'PY'
import sys, urllib.parse, pymysql
u = urllib.parse.urlparse(sys.argv[1])
c = pymysql.connect(host=u.hostname, port=u.port or 3306, user=u.username or "root", password=u.password or "")
c.cursor().execute(f"CREATE DATABASE `{sys.argv[2]}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
PY
      ours_args=(--url "${mysql_server/mysql:/mysql+pymysql:}/$scratch_db?charset=utf8mb4")
      peer_args=(--url "${mysql_server/mysql:/mysql+pymysql:}/$scratch_db?charset=utf8mb4") ;;
    *) echo "run_writes.sh: unknown backend $backend" >&2; exit 2 ;;
  esac
  echo "[$backend] lunadb bench writes ($lunadb) ..." >&2
  "$lunadb" bench writes --json --rows "$rows" --reads "$reads" "${ours_args[@]}" > "$work/lunadb-$backend.json"
  echo "[$backend] the SQLAlchemy peer (ORM and Core) ..." >&2
  "$work/venv/bin/python" "$here/sqlalchemy_writes.py" --json --rows "$rows" --reads "$reads" "${peer_args[@]}" \
    > "$work/sqlalchemy-$backend.json"
done

"$work/venv/bin/python" - "$work" $backends <<'PY'
import json, os, sys
work, backends = sys.argv[1], sys.argv[2:]
print("wall = rows per elapsed second; cpu = rows per CPU second of the client process (SQLite only:")
print("on a server most of the work is the server's). x ORM / x Core: how many times faster lunadb is;")
print("for reads, the peer's latency divided by lunadb's.")
for backend in backends:
    ours = json.load(open(os.path.join(work, f"lunadb-{backend}.json")))
    peer = json.load(open(os.path.join(work, f"sqlalchemy-{backend}.json")))
    version = ours.get("sqlite_version") if backend == "sqlite" else ours.get("server_version")
    print(f"\n{backend} {version}; SQLAlchemy {peer['sqlalchemy_version']}; {ours['rows']} rows, batches of "
          f"{ours['batch_size']}, {ours['reads']} reads of the newest {ours['read_limit']}")
    raw_col = backend == "sqlite"
    header = (f"{'':34}{'lunadb':>12}" + (f"{'raw sqlite3':>13}" if raw_col else "") +
              f"{'SA ORM':>12}{'SA Core':>12}{'x ORM':>9}{'x Core':>9}" + (f"{'/ raw':>8}" if raw_col else ""))
    print(header)
    print("-" * len(header))
    units = (("wall", "_rows_per_s"), ("cpu", "_rows_per_cpu_s")) if raw_col else (("wall", "_rows_per_s"),)
    def row(label, key, raw_key):
        for unit, suffix in units:
            mine = ours[key + suffix]
            orm = peer["orm_" + key + suffix]
            core = peer["core_" + key + suffix]
            line = f"{label + ' (' + unit + ')':34}{mine:>12.0f}"
            if raw_col:
                raw = ours[raw_key + suffix]
                line += f"{raw:>13.0f}"
            line += f"{orm:>12.0f}{core:>12.0f}{mine / orm:>9.1f}{mine / core:>9.1f}"
            if raw_col:
                line += f"{mine / raw:>8.2f}"
            print(line)
    row("insert, 1 row/tx, rows/s", "single_row_tx", "raw_sqlite3_single_row_tx")
    row("insert, 1000 rows/tx, rows/s", "batch", "raw_sqlite3_batch")
    if "psycopg2_copy_batch_rows_per_s" in peer:
        floor = peer["psycopg2_copy_batch_rows_per_s"]
        print(f"{'  hand-written psycopg2 COPY (wall)':34}{floor:>12.0f}   (lunadb / it: {ours['batch_rows_per_s'] / floor:.2f}; "
              f"it / ORM: {floor / peer['orm_batch_rows_per_s']:.1f}): the server's own floor for these batches")
    for p in ("p50", "p99"):
        mine = ours[f"read_latest_{p}_us"]
        orm = peer[f"orm_read_latest_{p}_us"]
        core = peer[f"core_read_latest_{p}_us"]
        print(f"{'read newest 50, ' + p + ' us':34}{mine:>12.1f}" + (" " * 13 if raw_col else "") +
              f"{orm:>12.1f}{core:>12.1f}{orm / mine:>9.1f}{core / mine:>9.1f}")
PY
