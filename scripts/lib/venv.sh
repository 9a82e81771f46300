# Sourced by the scripts that need a Python venv from PyPI (tests, peers and test servers only).
# ensure_venv VENV REQUIREMENT...: creates VENV with exactly these requirements, once. A stamp in
# the venv holds the requirement list, so a changed pin rebuilds it and an unchanged one is a
# no-op that prints nothing. pip's output goes to stderr, so callers' stdout stays theirs.
# A torch==X pin is installed on its own first: the CPU wheel of that version lies on this machine,
# and a package that depends on torch (sentence-transformers) must then find it, not pull a CUDA
# build of several GB. The pin is repeated in the second install so a resolver that wanted another
# torch fails instead of replacing it.
ensure_venv() {
  local venv="$1"
  shift
  local stamp="$venv/.lunadb-requirements"
  local wanted
  wanted="$(printf '%s\n' "$@")"
  if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    return 0
  fi
  rm -rf "$venv"
  # Each step returns on failure itself: a caller in an `if` or `||` runs without errexit, and a
  # stamp written after a failed pip would make every later run trust a broken venv.
  "${PYTHON:-python3}" -m venv "$venv" >/dev/null || return 1
  local requirement
  for requirement in "$@"; do
    if [[ "$requirement" == torch==* ]]; then
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$requirement" >&2 || return 1
    fi
  done
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2 || return 1
  printf '%s\n' "$wanted" >"$stamp"
}
