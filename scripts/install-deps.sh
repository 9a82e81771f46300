#!/usr/bin/env bash
# Installs the Debian packages lunadb needs to build and test. Idempotent; silent when nothing
# is missing. Usage: scripts/install-deps.sh [--servers]   (--servers adds PostgreSQL, MariaDB
# and pgbouncer, which the test suite talks to).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git python3 python3-venv
  libsqlite3-dev sqlite3 libpq-dev libmariadb-dev unixodbc-dev unixodbc tdsodbc odbc-postgresql odbc-mariadb
  nlohmann-json3-dev libre2-dev libcurl4-openssl-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcpp-httplib-dev libhnswlib-dev libssl-dev zlib1g-dev
)
if [[ "${1:-}" == "--servers" ]]; then
  packages+=(postgresql postgresql-client mariadb-server mariadb-client pgbouncer)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
# A server installed by other means (e.g. PostgreSQL from another source) counts as present.
if [[ ${#missing[@]} -gt 0 ]]; then
  filtered=()
  for package in "${missing[@]}"; do
    case "$package" in
      postgresql) command -v pg_ctl >/dev/null 2>&1 || command -v pg_ctlcluster >/dev/null 2>&1 || filtered+=("$package") ;;
      mariadb-server) command -v mariadbd >/dev/null 2>&1 || [[ -x /usr/sbin/mariadbd ]] || filtered+=("$package") ;;
      *) filtered+=("$package") ;;
    esac
  done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
