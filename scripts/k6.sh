#!/usr/bin/env bash
# Run k6, building it from the Go module proxy the first time.
#
#   scripts/k6.sh run [k6 options] loadtest/mix.js
#   scripts/k6.sh version
#
# k6 is installed with `go install go.k6.io/k6@$K6_VERSION` into ${EPHEMERA_CACHE:-$HOME/.cache/ephemera}/bin,
# once per pinned version (a stamp file records it), so later runs start at once. Nothing is downloaded
# except Go modules; no prebuilt binary. Usage reports to the k6 project are switched off.
set -euo pipefail

K6_MODULE=go.k6.io/k6
K6_VERSION=${K6_VERSION:-v1.8.1}   # the newest v1 the Go proxy serves that go1.26 accepts

CACHE=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}
BIN=$CACHE/bin
STAMPS=$CACHE/stamps
STAMP=$STAMPS/k6-$K6_VERSION

log() { printf '==> k6: %s\n' "$*" >&2; }

mkdir -p "$BIN" "$STAMPS"
if [[ -f $STAMP && -x $BIN/k6 ]]; then
  : # cached: stay quiet so `scripts/k6.sh version` prints only k6's own output
else
  command -v go >/dev/null || { log "go is required to build k6 (apt-get install golang-go, or a Go toolchain)"; exit 1; }
  # A lock, so two concurrent first runs do not both build into the same GOBIN.
  exec 9>"$STAMPS/.k6.lock"
  flock 9
  if [[ ! -f $STAMP || ! -x $BIN/k6 ]]; then
    log "$K6_VERSION: go install $K6_MODULE@$K6_VERSION (first time: downloads modules and compiles, takes minutes)"
    start=$SECONDS
    rm -f "$STAMPS"/k6-*
    GOBIN=$BIN CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install "$K6_MODULE@$K6_VERSION"
    touch "$STAMP"
    log "$K6_VERSION: built in $((SECONDS - start))s ($BIN/k6)"
  fi
  flock -u 9
  exec 9>&-
fi

export K6_NO_USAGE_REPORT=true
# The scripts' handleSummary writes its JSON there; k6 does not create directories.
[[ -d loadtest ]] && mkdir -p loadtest/results
# On a box this small the load generator shares two cores with Cassandra and the service. Go's idle scheduler
# threads nap in microsecond steps; a coarser timer slack (K6_TIMER_SLACK_NS, inherited by every thread) cut k6's
# CPU per request by about 20 % here (0.81 -> 0.66 ms at 300 requests/s). Wake-ups on I/O are not delayed, so
# measured latencies are unaffected. (GOMAXPROCS=1 saved more CPU but made k6 itself stall: more dropped
# iterations and a higher p99 at the same rate, so it is not used.)
if [[ $(nproc) -le 2 ]]; then
  echo "${K6_TIMER_SLACK_NS:-500000}" >/proc/self/timerslack_ns 2>/dev/null || true
fi
exec "$BIN/k6" "$@"
