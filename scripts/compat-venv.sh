#!/usr/bin/env bash
# Creates (once) the Python venv the Luna compatibility suite (tests/compat/) runs in. It prints
# nothing when the venv is already set up, so callers can run it every time. The venv lives in
# build/compat-venv unless LUNADB_COMPAT_VENV names another place.
# SQLAlchemy is the version Luna pins (backend/requirements.txt); the others what Luna allows; mcp is
# the real MCP client that drives `lunadb mcp` (test_mcp.py).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${LUNADB_COMPAT_VENV:-$root/build/compat-venv}"
requirements=(
  "SQLAlchemy==2.0.36"
  "alembic>=1.13,<2"
  "psycopg2-binary>=2.9,<3"
  "PyMySQL>=1.1,<2"
  "pytest>=8,<9"
  "mcp==2.3.0"
)
# shellcheck source=lib/venv.sh
source "$root/scripts/lib/venv.sh"
ensure_venv "$venv" "${requirements[@]}"
