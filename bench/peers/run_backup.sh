#!/usr/bin/env bash
# `lunadb bench backup` at the size issue 9 asks for: 1M messages, 100k facts, 100k vectors of
# d=768. In one run it puts lunadb backup / restore beside `sqlite3 .backup` and `cp`, runs
# `lunadb copy` into a scratch PostgreSQL database, and puts `pg_dump -Fc` / `pg_restore` of that
# database beside lunadb's own backup of it (printed as "n/a: ..." while unsupported).
#
#   bench/peers/run_backup.sh [bench backup options]     e.g. --repeat 3, --no-postgres, --json
#
# DATA_DIR keeps the generated data between runs (default /work/bench-data/backup if /work exists,
# else build/bench-data/backup): generating them takes about 2 minutes on 2 cores, and needs about
# 1.5 GB there plus 3 GB for the copies while it runs. LUNADB_BENCH_PG_URL names the PostgreSQL
# server (default postgresql://postgres@127.0.0.1:5432/postgres); scratch databases
# lunadb_bench_backup_<pid>_* are created there and dropped. LUNADB_BIN names the binary; by
# default build/lunadb, built first when missing. Needs the sqlite3 CLI (Debian package sqlite3)
# and pg_dump / pg_restore (postgresql-client).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
lunadb="${LUNADB_BIN:-$root/build/lunadb}"
if [[ ! -x "$lunadb" ]]; then
  cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$root/build" -j"$(nproc)" --target lunadb_cli
fi
if [[ -d /work ]]; then default_data=/work/bench-data/backup; else default_data="$root/build/bench-data/backup"; fi
data="${DATA_DIR:-$default_data}"
pg_url="${LUNADB_BENCH_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
for tool in sqlite3 pg_dump pg_restore; do
  command -v "$tool" >/dev/null || echo "run_backup.sh: $tool is not installed; its rows will say n/a" >&2
done
mkdir -p "$data"
echo "load $(cut -d' ' -f1-3 /proc/loadavg) before the bench" >&2
"$lunadb" bench backup --messages 1000000 --facts 100000 --vectors 100000 --dim 768 \
  --data-dir "$data" --pg-url "$pg_url" --repeat 2 "$@"
echo "rerun (the data are reused): DATA_DIR=$data $0 $*" >&2
