#!/usr/bin/env bash
# Run a k6 script against a service this script starts itself (for `make test` / CI, where nothing serves yet),
# or against BASE_URL when that is set.
#
#   loadtest/run.sh smoke                 # loadtest/smoke.js against a fresh `node dist/cli.js serve`
#   loadtest/run.sh mix -e RATE=500       # loadtest/mix.js; extra arguments go to `k6 run`
#   BASE_URL=http://127.0.0.1:8080 loadtest/run.sh mix
#
# The started service uses its own keyspaces (LOADTEST_HOT_KEYSPACE / LOADTEST_COLD_KEYSPACE, default
# ephemera_perf_hot / ephemera_perf_cold, migrated first), listens on 127.0.0.1:${LOADTEST_PORT:-18090} and is
# stopped with SIGTERM afterwards. Needs dist/ (npx tsc -p tsconfig.build.json) and a running Cassandra.
# Exit status: k6's (0 pass, 99 a threshold failed, other = error).
set -euo pipefail
cd "$(dirname "$0")/.."

script=${1:?usage: loadtest/run.sh smoke|mix [k6 run options]}
shift
[[ -f loadtest/$script.js ]] || { echo "loadtest/run.sh: no loadtest/$script.js" >&2; exit 64; }
log() { printf '==> loadtest: %s\n' "$*" >&2; }

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
  BASE_URL=http://127.0.0.1:$port
  for i in $(seq 1 120); do
    if curl -fsS "$BASE_URL/readyz" >/dev/null 2>&1; then break; fi
    kill -0 "$pid" 2>/dev/null || { echo "loadtest/run.sh: the service exited during start-up" >&2; exit 1; }
    (( i == 120 )) && { echo "loadtest/run.sh: $BASE_URL not ready after 30 s" >&2; exit 1; }
    sleep 0.25
  done
fi

log "k6 run loadtest/$script.js against $BASE_URL"
set +e
scripts/k6.sh run -e "BASE_URL=$BASE_URL" "$@" "loadtest/$script.js"
code=$?
set -e
exit $code
