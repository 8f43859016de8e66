#!/usr/bin/env bash
# Run a vegeta load test (loadtest/vegeta/attack.ts) against BASE_URL, or against a service this script starts
# itself when BASE_URL is unset (for `make test` / CI, where nothing serves yet).
#
#   loadtest/run.sh smoke                          # 20 req/s for 10 s, every response checked, own service
#   RATE=500 DURATION=30s loadtest/run.sh mix      # the mix; settings as environment variables
#   BASE_URL=http://127.0.0.1:8080 loadtest/run.sh mix
#
# The started service uses its own keyspaces (LOADTEST_HOT_KEYSPACE / LOADTEST_COLD_KEYSPACE, default
# ephemera_perf_hot / ephemera_perf_cold, migrated first), listens on 127.0.0.1:${LOADTEST_PORT:-18090} and is
# stopped with SIGTERM afterwards. Needs dist/ (npx tsc -p tsconfig.build.json) and a running Cassandra.
# vegeta is built once by scripts/dev/tools.sh (go install, MIT). Exit status: 0 pass, 99 a threshold failed
# (the report names it), other = error.
set -euo pipefail
cd "$(dirname "$0")/.."

scenario=${1:?usage: loadtest/run.sh smoke|mix}
case $scenario in smoke | mix) ;; *) echo "loadtest/run.sh: unknown scenario $scenario (smoke|mix)" >&2; exit 64 ;; esac
log() { printf '==> loadtest: %s\n' "$*" >&2; }

scripts/dev/tools.sh vegeta

pid=
# shellcheck disable=SC2317  # invoked by the EXIT trap
stop() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
}
trap stop EXIT

if [[ -z ${BASE_URL:-} ]]; then
  [[ -f dist/cli.js ]] || { echo "loadtest/run.sh: dist/cli.js missing: npx tsc -p tsconfig.build.json" >&2; exit 1; }
  export CASSANDRA_HOT_KEYSPACE=${LOADTEST_HOT_KEYSPACE:-ephemera_perf_hot}
  export CASSANDRA_COLD_KEYSPACE=${LOADTEST_COLD_KEYSPACE:-ephemera_perf_cold}
  port=${LOADTEST_PORT:-18090}
  log "migrating $CASSANDRA_HOT_KEYSPACE / $CASSANDRA_COLD_KEYSPACE"
  LOG_LEVEL=warn node dist/cli.js migrate
  log "starting the service on 127.0.0.1:$port"
  PORT=$port HOST=127.0.0.1 LOG_LEVEL=${LOG_LEVEL:-warn} node dist/cli.js serve &
  pid=$!
  export SERVICE_PID=$pid
  export BASE_URL=http://127.0.0.1:$port
  for i in $(seq 1 120); do
    if curl -fsS "$BASE_URL/readyz" >/dev/null 2>&1; then break; fi
    kill -0 "$pid" 2>/dev/null || { echo "loadtest/run.sh: the service exited during start-up" >&2; exit 1; }
    (( i == 120 )) && { echo "loadtest/run.sh: $BASE_URL not ready after 30 s" >&2; exit 1; }
    sleep 0.25
  done
fi

log "$scenario against $BASE_URL"
set +e
node --import tsx loadtest/vegeta/attack.ts "$scenario"
code=$?
set -e
exit $code
