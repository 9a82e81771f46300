#!/usr/bin/env bash
# The main job on the zero-config SQLite default: build lunadb, bring data/luna.db to head and
# print its status. Run from anywhere; the database lands in ./data of the repository.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLUNADB_BUILD_TESTS=OFF >/dev/null
cmake --build build --target lunadb_cli -j"$(nproc)"
build/lunadb upgrade head
build/lunadb status
