# Sourced by the peer scripts that hand lunadb's exported workload (--export) to a peer.
# use_export_dir PREFIX: sets export_dir to EXPORT_DIR when that is set (kept), else to a fresh
# temporary folder removed when the script exits. load NAME: the load average, to stderr, before a run.
use_export_dir() {
  if [[ -n "${EXPORT_DIR:-}" ]]; then
    export_dir=$EXPORT_DIR
  else
    export_dir=$(mktemp -d "${TMPDIR:-/tmp}/$1-XXXXXX")
    trap 'rm -rf "$export_dir"' EXIT
  fi
}
load() { echo "load $(cut -d' ' -f1-3 /proc/loadavg) before $1" >&2; }
