#!/usr/bin/env bash
# Starts Debian's pgbouncer in *transaction* pooling mode (what the Supabase pooler on port 6543
# runs) on 127.0.0.1:6432, in front of PostgreSQL on 127.0.0.1:5432. Idempotent: does nothing when
# something already answers on the port. Config, log and pid live in a run directory
# (LUNADB_PGBOUNCER_DIR, default /tmp/lunadb-pgbouncer).
#
# Authentication (pgbouncer's own, auth_type=hba): every user is trusted from 127.0.0.1, except the
# test user lunadb_pgbouncer_auth, which needs the password "lunadb-pgbouncer-test-password"
# (md5). That user lets the test suite exercise the wrong-password path even when the local
# PostgreSQL trusts loopback connections. Stop it with: kill "$(cat "$dir/pgbouncer.pid")".
set -euo pipefail

dir="${LUNADB_PGBOUNCER_DIR:-/tmp/lunadb-pgbouncer}"
port="${LUNADB_PGBOUNCER_PORT:-6432}"
pg_host="${LUNADB_PGBOUNCER_UPSTREAM_HOST:-127.0.0.1}"
pg_port="${LUNADB_PGBOUNCER_UPSTREAM_PORT:-5432}"

answers() {
  PGCONNECT_TIMEOUT=2 psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc 'SELECT 1' >/dev/null 2>&1
}

if answers; then
  exit 0
fi

bin="$(command -v pgbouncer || true)"
[[ -z "$bin" && -x /usr/sbin/pgbouncer ]] && bin=/usr/sbin/pgbouncer
if [[ -z "$bin" ]]; then
  echo "start-pgbouncer: pgbouncer is not installed (apt-get install pgbouncer)" >&2
  exit 1
fi

mkdir -p "$dir"
cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=$pg_host port=$pg_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = hba
auth_hba_file = $dir/hba.conf
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
max_db_connections = 40
ignore_startup_parameters = extra_float_digits,options
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
admin_users = postgres
EOF
cat >"$dir/hba.conf" <<EOF
host all lunadb_pgbouncer_auth 127.0.0.1/32 md5
host all all 127.0.0.1/32 trust
EOF
cat >"$dir/userlist.txt" <<EOF
"lunadb_pgbouncer_auth" "lunadb-pgbouncer-test-password"
"postgres" ""
EOF

# A stale pid file from a crashed run would stop pgbouncer from starting.
if [[ -f "$dir/pgbouncer.pid" ]] && ! kill -0 "$(cat "$dir/pgbouncer.pid")" 2>/dev/null; then
  rm -f "$dir/pgbouncer.pid"
fi

run_as=()
if [[ $(id -u) -eq 0 ]]; then
  # pgbouncer refuses to run as root.
  chown -R postgres "$dir"
  run_as=(-u postgres)
fi
"$bin" -d -q "${run_as[@]}" "$dir/pgbouncer.ini"

for _ in $(seq 1 40); do
  if answers; then
    exit 0
  fi
  sleep 0.25
done
echo "start-pgbouncer: pgbouncer did not answer on 127.0.0.1:$port; see $dir/pgbouncer.log" >&2
exit 1
