#!/usr/bin/env bash
# Start/stop/status all native services (PostgreSQL, Redis, Kafka) for Stratum Twin.
#   usage: all.sh start|stop|status|env
# `start` and `env` print shell exports on stdout (progress goes to stderr), so:
#   eval "$(infrastructure/native/all.sh start)"
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SERVICES=(postgres redis kafka)

print_env() {
  echo "export STRATUM_PG_URL='$1'"
  echo "export STRATUM_REDIS_URL='$2'"
  echo "export STRATUM_KAFKA_BROKERS='$3'"
}

case "${1:-}" in
  start)
    urls=()
    for s in "${SERVICES[@]}"; do
      t0=$(date +%s)
      if ! u="$(bash "$HERE/$s.sh" start)"; then
        echo "[all] ERROR: $s failed to start (others left as they are; run '$0 stop' to clean up)" >&2
        exit 1
      fi
      echo "[all] $s ready in $(( $(date +%s) - t0 ))s: $u" >&2
      urls+=("$(tail -n1 <<<"$u")")
    done
    print_env "${urls[@]}"
    ;;
  stop)
    rc=0
    for (( i=${#SERVICES[@]}-1; i>=0; i-- )); do
      bash "$HERE/${SERVICES[i]}.sh" stop || rc=1
    done
    exit $rc
    ;;
  status)
    rc=0
    for s in "${SERVICES[@]}"; do
      bash "$HERE/$s.sh" status >/dev/null || rc=1
    done
    if [[ $rc -eq 0 ]]; then
      print_env "$(bash "$HERE/postgres.sh" url)" "$(bash "$HERE/redis.sh" url)" "$(bash "$HERE/kafka.sh" url)"
    fi
    exit $rc
    ;;
  env)
    print_env "$(bash "$HERE/postgres.sh" url)" "$(bash "$HERE/redis.sh" url)" "$(bash "$HERE/kafka.sh" url)"
    ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
