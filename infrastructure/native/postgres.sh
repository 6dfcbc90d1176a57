#!/usr/bin/env bash
# Native PostgreSQL for Stratum Twin: our own throw-away cluster (not the system one).
#   usage: postgres.sh start|stop|status|url
# Env: PGPORT (55432), STRATUM_RUN (/tmp/stratum-services), STRATUM_PG_DURABLE=1 to keep fsync on,
#      STRATUM_PG_START_TIMEOUT (60), PG_BIN (auto: newest /usr/lib/postgresql/*/bin).
set -euo pipefail
# shellcheck disable=SC2034  # read by lib.sh
SVC_NAME=postgres
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${PGPORT:-55432}"
HOST=127.0.0.1
DB_USER=stratum
DB_PASS=stratum
DB_NAME=stratum
DIR="$STRATUM_RUN/postgres"
DATA="$DIR/data"
SOCK="$DIR/sock"
LOGFILE="$DIR/postgres.log"
TIMEOUT="${STRATUM_PG_START_TIMEOUT:-60}"
URL="postgres://$DB_USER:$DB_PASS@$HOST:$PORT/$DB_NAME"

find_pg_bin() {
  if [[ -n "${PG_BIN:-}" && -x "$PG_BIN/initdb" ]]; then echo "$PG_BIN"; return 0; fi
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
  if [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
  return 1
}

ensure_installed() {
  if ! PG_BIN="$(find_pg_bin)"; then
    apt_install postgresql postgresql-client
    PG_BIN="$(find_pg_bin)" || die "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin after install"
  fi
  export PG_BIN
  command -v psql >/dev/null 2>&1 || apt_install postgresql-client
}

# PostgreSQL refuses to run as root: pick an unprivileged OS user to own the cluster.
RUN_AS=""
pick_user() {
  if [[ $(id -u) -ne 0 ]]; then RUN_AS=""; return; fi
  if id postgres >/dev/null 2>&1; then RUN_AS=postgres
  else
    id stratum >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin stratum \
      || die "could not create system user 'stratum'"
    RUN_AS=stratum
  fi
}
as_owner() {
  if [[ -n "$RUN_AS" ]]; then runuser -u "$RUN_AS" -- "$@"; else "$@"; fi
}

pg_running() { [[ -d "$DATA" ]] && as_owner "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

sql_ready() {
  PGPASSWORD="$DB_PASS" psql -X -q -w -h "$HOST" -p "$PORT" -U "$DB_USER" -d "$DB_NAME" \
    -tAc 'select 1' >/dev/null 2>&1
}

init_cluster() {
  mkdir -p "$STRATUM_RUN"; chmod 0755 "$STRATUM_RUN" 2>/dev/null || true
  mkdir -p "$DIR" "$SOCK"
  [[ -n "$RUN_AS" ]] && chown -R "$RUN_AS": "$DIR"
  as_owner test -w "$DIR" || die "user ${RUN_AS:-$(id -un)} cannot write $DIR (is STRATUM_RUN under a private home dir?)"
  if [[ ! -s "$DATA/PG_VERSION" ]]; then
    log "initdb in $DATA"
    rm -rf "$DATA"
    local pw; pw="$(mktemp "$DIR/.pw.XXXXXX")"; echo "$DB_PASS" >"$pw"
    [[ -n "$RUN_AS" ]] && chown "$RUN_AS": "$pw"
    as_owner "$PG_BIN/initdb" -D "$DATA" -U "$DB_USER" --pwfile="$pw" -E UTF8 --no-locale \
      --auth-local=trust --auth-host=scram-sha-256 >"$DIR/initdb.log" 2>&1 \
      || { rm -f "$pw"; cat "$DIR/initdb.log" >&2; die "initdb failed (log: $DIR/initdb.log)"; }
    rm -f "$pw"
    echo "include_if_exists = 'stratum.conf'" >>"$DATA/postgresql.conf"
  fi
  # Rewritten on every start so port/settings changes take effect.
  {
    echo "listen_addresses = '$HOST'"
    echo "port = $PORT"
    echo "unix_socket_directories = '$SOCK'"
    echo "max_connections = 200"
    echo "shared_buffers = 128MB"
    if [[ "${STRATUM_PG_DURABLE:-0}" != 1 ]]; then
      # Throw-away dev/CI data: trade durability for speed.
      echo "fsync = off"; echo "synchronous_commit = off"; echo "full_page_writes = off"
    fi
  } >"$DATA/stratum.conf"
  [[ -n "$RUN_AS" ]] && chown "$RUN_AS": "$DATA/stratum.conf"
  return 0
}

cmd_start() {
  ensure_installed; pick_user
  if pg_running; then
    sql_ready || wait_for "$TIMEOUT" "postgres to accept connections" sql_ready || die "running but not accepting SQL; see $LOGFILE"
    log "already running"
    echo "$URL"; return 0
  fi
  if port_open "$HOST" "$PORT"; then
    die "port $PORT is already in use by another process (set PGPORT to pick another port)"
  fi
  init_cluster
  log "starting $("$PG_BIN/postgres" --version) on $HOST:$PORT (data $DATA, user ${RUN_AS:-$(id -un)})"
  as_owner "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOGFILE" -w -t "$TIMEOUT" start >/dev/null \
    || { tail -n 30 "$LOGFILE" >&2 2>/dev/null || true; die "pg_ctl start failed; see $LOGFILE"; }
  # Create the application database on first start (connect over the local socket, trust auth).
  if ! PGPASSWORD="$DB_PASS" psql -X -w -h "$SOCK" -p "$PORT" -U "$DB_USER" -d postgres -tAc \
      "select 1 from pg_database where datname='$DB_NAME'" | grep -q 1; then
    PGPASSWORD="$DB_PASS" psql -X -q -w -h "$SOCK" -p "$PORT" -U "$DB_USER" -d postgres \
      -c "create database \"$DB_NAME\" owner \"$DB_USER\"" >&2 || die "create database $DB_NAME failed"
  fi
  wait_for "$TIMEOUT" "postgres to accept password logins over TCP" sql_ready \
    || die "postgres started but SQL login over TCP fails; see $LOGFILE"
  log "ready"
  echo "$URL"
}

cmd_stop() {
  if ! PG_BIN="$(find_pg_bin)"; then log "not installed; nothing to stop"; return 0; fi
  pick_user
  if pg_running; then
    as_owner "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null || die "pg_ctl stop failed"
    log "stopped"
  else
    log "not running"
  fi
}

cmd_status() {
  if PG_BIN="$(find_pg_bin)"; then pick_user; else log "not installed"; return 3; fi
  if pg_running && sql_ready; then log "running at $URL"; echo "$URL"; return 0; fi
  if pg_running; then log "process running but not accepting SQL"; return 1; fi
  log "not running"; return 3
}

case "${1:-}" in
  start)  cmd_start ;;
  stop)   cmd_stop ;;
  status) cmd_status ;;
  url)    echo "$URL" ;;
  *) echo "usage: $0 start|stop|status|url" >&2; exit 2 ;;
esac
