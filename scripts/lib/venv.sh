# Sourced by the scripts that need a Python venv from PyPI (tests, peers and test servers only).
# ensure_venv VENV REQUIREMENT...: creates VENV with exactly these requirements, once. A stamp in
# the venv holds the requirement list, so a changed pin rebuilds it and an unchanged one is a
# no-op that prints nothing. pip's output goes to stderr, so callers' stdout stays theirs.
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
  "${PYTHON:-python3}" -m venv "$venv" >/dev/null
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2
  printf '%s\n' "$wanted" >"$stamp"
}
