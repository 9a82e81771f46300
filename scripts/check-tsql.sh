#!/usr/bin/env bash
# Parses every statement of the given T-SQL files with sqlglot's tsql dialect (scripts/tsql_parse.py)
# and fails listing the statements that do not parse. With --strict (first argument) it also fails
# on syntax of other dialects that sqlglot's tsql reader tolerates but SQL Server refuses (LIMIT,
# RETURNING, TRUE/FALSE, ON CONFLICT, row-value comparisons, $n / :name parameters).
#
# sqlglot lives in a virtualenv, created on first use:
#   LUNADB_TSQL_VENV (default: ${XDG_CACHE_HOME:-$HOME/.cache}/lunadb/tsql-venv)
# Exit codes: 0 all parse, 1 some do not, 2 bad usage, 3 python3/venv/sqlglot unavailable.
set -euo pipefail

SQLGLOT_VERSION="30.30.0"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${LUNADB_TSQL_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/lunadb/tsql-venv}"

if [ "$#" -lt 1 ]; then
  echo "usage: $0 [--strict] FILE.sql..." >&2
  exit 2
fi

if ! command -v python3 >/dev/null 2>&1; then
  echo "check-tsql: python3 is not installed" >&2
  exit 3
fi

if ! "$venv/bin/python" -c "import sqlglot, sys; sys.exit(0 if sqlglot.__version__ == '$SQLGLOT_VERSION' else 1)" \
    >/dev/null 2>&1; then
  mkdir -p "$(dirname "$venv")"
  # Several test processes may get here at once: one creates the venv, the others wait for it.
  exec 9>"$venv.lock"
  flock 9
  if ! "$venv/bin/python" -c "import sqlglot, sys; sys.exit(0 if sqlglot.__version__ == '$SQLGLOT_VERSION' else 1)" \
      >/dev/null 2>&1; then
    rm -rf "$venv"
    if ! python3 -m venv "$venv" >&2; then
      echo "check-tsql: cannot create a virtualenv (apt-get install python3-venv)" >&2
      exit 3
    fi
    if ! "$venv/bin/pip" install --quiet --disable-pip-version-check "sqlglot==$SQLGLOT_VERSION" >&2; then
      echo "check-tsql: cannot install sqlglot==$SQLGLOT_VERSION from PyPI" >&2
      rm -rf "$venv"
      exit 3
    fi
  fi
  flock -u 9
fi

exec "$venv/bin/python" "$here/tsql_parse.py" "$@"
