#!/usr/bin/env bash
# Creates (once) two Python venvs with the real chromadb for the import-chroma tests: 0.5.20, the
# version Luna pins, and 1.5.x. Prints the two Python paths, colon-separated (for
# LUNADB_CHROMA_PYTHONS). Nothing else is printed when they already exist.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/venv.sh
source "$root/scripts/lib/venv.sh"
base="${LUNADB_CHROMA_VENVS:-$root/build/chroma-venvs}"
pythons=()
for spec in "0.5=chromadb==0.5.20" "1.5=chromadb>=1.5,<1.6"; do
  name="${spec%%=*}"
  requirement="${spec#*=}"
  venv="$base/chromadb-$name"
  ensure_venv "$venv" "$requirement"
  pythons+=("$venv/bin/python")
done
(IFS=:; echo "${pythons[*]}")
