#!/usr/bin/env bash
# Makes sure the database servers the test suite talks to are up: PostgreSQL on 127.0.0.1:5432
# (user postgres, trust), MariaDB on 127.0.0.1:3306 (root, no password) and pgbouncer in
# transaction mode on 127.0.0.1:6432, PostgreSQL with pgvector on 127.0.0.1:5433 (from PyPI,
# scripts/start-pgvector.sh) and a second pgbouncer in transaction mode on 127.0.0.1:6433 in front
# of it. Installs them from Debian when absent. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"

wait_for() {  # wait_for NAME COMMAND...
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "start-services: $name did not come up" >&2
  return 1
}

# ---- PostgreSQL ----
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    "$here/install-deps.sh" --servers
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  # The suite connects as postgres over TCP without a password (trust on loopback only).
  if ! grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
    $sudo sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  $sudo pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432
fi

# ---- MariaDB ----
mysql_ok() { mysql -h 127.0.0.1 -P 3306 -u root -e 'SELECT 1' >/dev/null 2>&1; }
if ! mysql_ok; then
  if [[ ! -x /usr/sbin/mariadbd ]]; then
    "$here/install-deps.sh" --servers
  fi
  if ! mysqladmin --protocol=socket -u root status >/dev/null 2>&1; then
    $sudo mkdir -p /run/mysqld && $sudo chown mysql:mysql /run/mysqld 2>/dev/null || true
    $sudo start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_for MariaDB mysqladmin --protocol=socket -u root status
  fi
  # A fresh Debian install authenticates root by unix socket only; the suite uses TCP.
  if ! mysql_ok; then
    $sudo mysql --protocol=socket -u root -e \
      "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket; FLUSH PRIVILEGES;"
  fi
  wait_for "MariaDB (TCP)" mysql_ok
fi

# ---- pgbouncer (transaction mode, the Supabase pooler's mode) ----
if [[ -x "$here/start-pgbouncer.sh" ]]; then
  "$here/start-pgbouncer.sh"
fi

# ---- PostgreSQL 16 with pgvector on 127.0.0.1:5433 (the pgvector vector backend's tests) ----
"$here/start-pgvector.sh" >/dev/null

# ---- pgbouncer (transaction mode) in front of the pgvector server: 127.0.0.1:6433 -> 5433 ----
if [[ -x "$here/start-pgbouncer.sh" ]]; then
  LUNADB_PGBOUNCER_PORT=6433 LUNADB_PGBOUNCER_UPSTREAM_PORT=5433 \
    LUNADB_PGBOUNCER_DIR="${LUNADB_PGVECTOR_PGBOUNCER_DIR:-/tmp/lunadb-pgbouncer-pgvector}" "$here/start-pgbouncer.sh"
fi
