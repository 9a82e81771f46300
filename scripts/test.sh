#!/usr/bin/env bash
# The whole test suite: installs what is missing, starts the database servers, builds, runs every
# test on SQLite, PostgreSQL, MariaDB and through pgbouncer, checks the migrations against the
# schema model, then runs everything again under ASan+UBSan and the concurrency tests under TSan.
#   scripts/test.sh           everything (what CI runs)
#   scripts/test.sh --quick   skip the sanitizer builds
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
quick=0
[[ "${1:-}" == "--quick" ]] && quick=1
jobs="$(nproc)"
# ccache: paths relative to the clone and no working directory in the hash, so a fresh clone in
# another folder hits the cache that earlier builds on this machine filled.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-8G}"

scripts/install-deps.sh --servers
scripts/start-services.sh

step() { printf '\n==== %s ====\n' "$*"; }

step "build (RelWithDebInfo)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"

step "lunadb check (schema model vs. migrations head)"
build/lunadb check

if [[ $quick -eq 0 ]]; then
  step "build (ASan + UBSan)"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLUNADB_SANITIZE=address,undefined >/dev/null
  cmake --build build-asan -j"$jobs"
  step "tests under ASan + UBSan"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 LSAN_OPTIONS="suppressions=$root/tests/lsan.supp" \
     ctest -L all --output-on-failure)

  step "build (TSan)"
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLUNADB_SANITIZE=thread >/dev/null
  cmake --build build-tsan -j"$jobs"
  step "concurrency tests under TSan"
  (cd build-tsan && TSAN_OPTIONS="suppressions=$root/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1" \
     ctest -L concurrency --output-on-failure)
fi

step "tests"
(cd build && ctest -L all --output-on-failure)

step "Luna compatibility suite (Python: Luna's ORM and alembic against lunadb, on SQLite, PostgreSQL, MariaDB)"
scripts/compat-venv.sh
# pytest exits 5 when it collects nothing, which set -e turns into a failure, as it should.
# import-chroma against folders written by the real chromadb 0.5.20 (Luna's pin) and 1.5.
chroma_pythons="$(scripts/chroma-venvs.sh)"
(cd tests/compat && PATH="$root/build/compat-venv/bin:$PATH" LUNADB_BIN="$root/build/lunadb" \
   LUNADB_CHROMA_PYTHONS="$chroma_pythons" "$root/build/compat-venv/bin/pytest" -p no:cacheprovider)
