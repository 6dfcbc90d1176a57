# Shared helpers for infrastructure/native/*.sh (sourced, not executed).
# shellcheck shell=bash

STRATUM_CACHE="${STRATUM_CACHE:-$HOME/.cache/stratum}"
STRATUM_RUN="${STRATUM_RUN:-/tmp/stratum-services}"

_svc="${SVC_NAME:-native}"
log()  { echo "[$_svc] $*" >&2; }
die()  { echo "[$_svc] ERROR: $*" >&2; exit 1; }

# port_open HOST PORT -> 0 if something accepts TCP connections there.
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") >/dev/null 2>&1
}

# pid_alive PIDFILE -> 0 if the pid in the file is a running process.
pid_alive() {
  local f="$1" pid
  [[ -s "$f" ]] || return 1
  pid="$(head -n1 "$f" 2>/dev/null | tr -dc '0-9')"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

# wait_for TIMEOUT_SECONDS DESCRIPTION COMMAND... -> polls COMMAND every 0.5 s.
wait_for() {
  local timeout="$1" what="$2"; shift 2
  local deadline=$(( $(date +%s) + timeout ))
  until "$@"; do
    if (( $(date +%s) >= deadline )); then
      log "timed out after ${timeout}s waiting for $what"
      return 1
    fi
    sleep 0.5
  done
}

# apt_install PKG... -> installs Debian packages (runs apt-get update at most once per run).
apt_install() {
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install $*"
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z "${_STRATUM_APT_UPDATED:-}" ]]; then
    # Skip the update if the package lists are fresh enough to know the package.
    local pol; pol="$(apt-cache policy "$1" 2>/dev/null || true)"
    if [[ "$pol" != *"Candidate: "[0-9]* ]]; then
      log "apt-get update"
      $sudo apt-get update -qq >&2 || die "apt-get update failed"
    fi
    export _STRATUM_APT_UPDATED=1
  fi
  log "apt-get install $*"
  $sudo apt-get install -y -qq --no-install-recommends "$@" >&2 || die "apt-get install $* failed"
}

# kill_pidfile PIDFILE [TIMEOUT] -> TERM, wait, then KILL.
kill_pidfile() {
  local f="$1" timeout="${2:-30}" pid
  pid_alive "$f" || { rm -f "$f"; return 0; }
  pid="$(head -n1 "$f" | tr -dc '0-9')"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$(( $(date +%s) + timeout ))
  while kill -0 "$pid" 2>/dev/null; do
    if (( $(date +%s) >= deadline )); then
      log "pid $pid did not stop within ${timeout}s; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.3
  done
  rm -f "$f"
}
