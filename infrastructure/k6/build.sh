#!/usr/bin/env bash
# Ensure a k6 binary exists and print its absolute path on stdout (last line).
#   1. `k6` already on PATH               -> use it
#   2. cached build in $STRATUM_CACHE/bin -> use it (if its version matches the pin)
#   3. otherwise build it from the Go module with `go install` (needs Go >= 1.25, or >= 1.21 with GOTOOLCHAIN=auto)
# Progress messages go to stderr so that `K6=$(infrastructure/k6/build.sh)` works.
set -euo pipefail

K6_VERSION="${K6_VERSION:-v1.8.1}"          # pinned; builds with Go 1.26 here
CACHE="${STRATUM_CACHE:-$HOME/.cache/stratum}"
BIN_DIR="$CACHE/bin"
K6_BIN="$BIN_DIR/k6"

log() { echo "[k6] $*" >&2; }
die() { echo "[k6] ERROR: $*" >&2; exit 1; }

if [[ "${STRATUM_K6_FORCE_BUILD:-0}" != 1 ]] && command -v k6 >/dev/null 2>&1; then
  log "using k6 from PATH ($(k6 version 2>/dev/null | head -n1 || echo unknown version))"
  command -v k6
  exit 0
fi

if [[ -x "$K6_BIN" ]] && "$K6_BIN" version 2>/dev/null | grep -q "${K6_VERSION#v}"; then
  log "using cached $K6_BIN ($K6_VERSION)"
  echo "$K6_BIN"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  for g in /usr/local/go/bin/go /usr/lib/go/bin/go; do
    if [[ -x "$g" ]]; then PATH="${g%/go}:$PATH"; export PATH; break; fi
  done
fi
NEED_GO="k6 $K6_VERSION needs Go >= 1.25 (Debian 12's golang-go is 1.19, too old): install the official Go toolchain >= 1.25 into /usr/local/go (any Go >= 1.21 also works: it fetches the 1.25 toolchain from the Go module proxy by itself), or put a k6 binary on PATH"
command -v go >/dev/null 2>&1 || die "Go is not installed. $NEED_GO."
go_minor="$(go env GOVERSION 2>/dev/null | sed -nE 's/^go1\.([0-9]+).*/\1/p')"
if [[ -z "$go_minor" || "$go_minor" -lt 21 ]]; then
  die "found $(go version 2>/dev/null || echo 'an unknown Go'). $NEED_GO."
fi

mkdir -p "$BIN_DIR"
log "building k6 $K6_VERSION with $(go version) (first build takes a few minutes)..."
start=$(date +%s)
# CGO off: static binary, no C toolchain needed.
if ! CGO_ENABLED=0 GOFLAGS="-buildvcs=false" GOBIN="$BIN_DIR" go install "go.k6.io/k6@${K6_VERSION}" >&2; then
  die "go install go.k6.io/k6@${K6_VERSION} failed (needs the Go module proxy reachable and Go >= 1.23)"
fi
[[ -x "$K6_BIN" ]] || die "build finished but $K6_BIN is missing"
log "built $("$K6_BIN" version | head -n1) in $(( $(date +%s) - start ))s"
echo "$K6_BIN"
