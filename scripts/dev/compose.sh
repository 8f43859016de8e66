#!/usr/bin/env bash
# compose.yaml, for real: the Docker Compose v2 CLI (built from its Go module by scripts/dev/tools.sh) against
# podman's Docker-compatible API socket (no Docker engine here), with compose.hostnet.yaml on top (host
# networking on 127.0.0.1, ports that leave the developer's Cassandra and `make run` alone).
#
#   scripts/dev/compose.sh config   validate compose.yaml (+ the override) offline: `docker-compose config -q`
#   scripts/dev/compose.sh test     build the images, `up -d`, wait for every healthcheck, run the API conformance
#                               suite (test/inbox/api.test.ts) against the stack, check the archiver, `down -v`
#   scripts/dev/compose.sh up|down|ps|logs   the same stack by hand (DOCKER_HOST is set for you)
#
# COMPOSE_CASSANDRA=local (default): Cassandra from localhost/ephemera-cassandra:<version>, built here from the
# cached Maven jars (scripts/dev/cassandra-image.sh); =official: the CASSANDRA_IMAGE (cassandra:5.0) as published,
# for machines that can pull it.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO_ROOT"
EPHEMERA_CACHE=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}
export PATH=$EPHEMERA_CACHE/bin:$PATH
RUN_DIR=$EPHEMERA_CACHE/compose
SOCK=$RUN_DIR/podman.sock
PROJECT=${COMPOSE_PROJECT:-ephemera-test}
COMPOSE_CASSANDRA=${COMPOSE_CASSANDRA:-local}
export CASSANDRA_PORT=${COMPOSE_CASSANDRA_PORT:-19142} CASSANDRA_STORAGE_PORT=${COMPOSE_CASSANDRA_STORAGE_PORT:-17100}
export CASSANDRA_JMX_PORT=${COMPOSE_CASSANDRA_JMX_PORT:-17299} API_PORT=${COMPOSE_API_PORT:-18180}
export ARCHIVER_PORT=${COMPOSE_ARCHIVER_PORT:-18181} ARCHIVE_INTERVAL_SECONDS=${ARCHIVE_INTERVAL_SECONDS:-5}
export COUNTS_PORT=${COMPOSE_COUNTS_PORT:-18182}
export EPHEMERA_IMAGE=${EPHEMERA_IMAGE:-localhost/ephemera:dev}
case $COMPOSE_CASSANDRA in
  local) export CASSANDRA_IMAGE=localhost/ephemera-cassandra:${CASSANDRA_VERSION:-5.0.8} ;;
  official) export CASSANDRA_IMAGE=${CASSANDRA_IMAGE:-cassandra:5.0} ;;
  *) echo "COMPOSE_CASSANDRA must be local or official" >&2; exit 64 ;;
esac
FILES=(-f compose.yaml -f compose.hostnet.yaml)

say() { printf '==> compose [%ss]: %s\n' "$SECONDS" "$*" >&2; }
die() { printf '==> compose: ERROR: %s\n' "$*" >&2; exit 1; }
dc() { DOCKER_HOST=unix://$SOCK docker-compose -p "$PROJECT" "${FILES[@]}" "$@"; }
pm() { scripts/dev/image.sh podman "$@"; }

validate() {
  scripts/dev/tools.sh docker-compose
  docker-compose -f compose.yaml config -q
  docker-compose "${FILES[@]}" config -q
  docker-compose -f compose.yaml --profile search config -q
  # The file's own rules, on the resolved model (every profile): nothing privileged, every service limited,
  # the app services hardened like the chart, data only in named volumes.
  docker-compose -f compose.yaml --profile '*' config --format json | node -e '
    const m = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
    const bad = [];
    for (const [name, s] of Object.entries(m.services)) {
      if (s.privileged) bad.push(`${name}: privileged`);
      const lim = s.deploy?.resources?.limits ?? {};
      if (!lim.cpus || !lim.memory) bad.push(`${name}: no cpu/memory limit`);
      for (const v of s.volumes ?? []) if (v.type !== "volume") bad.push(`${name}: ${v.type} mount ${v.target}`);
      if (String(s.image).includes("ephemera:") && !(s.read_only && s.user === "10001:10001" && s.cap_drop?.includes("ALL")))
        bad.push(`${name}: app container not read-only/uid 10001/cap_drop ALL`);
    }
    if (bad.length) { console.error(bad.join("\n")); process.exit(1); }
    console.log(`compose rules: ${Object.keys(m.services).length} services limited, none privileged, app containers hardened`);'
  # Negative control: the validator must reject a misspelt service key.
  local bad; bad=$(mktemp "${TMPDIR:-/tmp}/compose-bad.XXXXXX.yaml")
  sed 's/^    stop_grace_period: 15s$/    stop_grace_periodd: 15s/' compose.yaml >"$bad"
  if docker-compose -f "$bad" config -q 2>/dev/null; then rm -f "$bad"; die "docker-compose config accepted an unknown key"; fi
  rm -f "$bad"
  echo "compose config: compose.yaml, + compose.hostnet.yaml, + profile search valid; a misspelt key is rejected"
}

# podman's Docker API on a private socket, with the project's storage and confs (scripts/dev/image.sh podman).
start_service() {
  mkdir -p "$RUN_DIR"
  if [[ -S $SOCK ]] && curl -fsS --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1; then return 0; fi
  rm -f "$SOCK"
  # Its own process group (setsid), so stop_service ends the wrapper script and podman together.
  setsid scripts/dev/image.sh podman system service --time=0 "unix://$SOCK" >"$RUN_DIR/podman-service.log" 2>&1 &
  echo $! >"$RUN_DIR/podman-service.pid"
  local i
  for i in $(seq 1 100); do
    curl -fsS --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  cat "$RUN_DIR/podman-service.log" >&2
  die "podman system service did not answer on $SOCK"
}

stop_service() {
  local pid
  pid=$(cat "$RUN_DIR/podman-service.pid" 2>/dev/null || true)
  if [[ -n $pid ]]; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$RUN_DIR/podman-service.pid" "$SOCK"
}

# podman runs healthchecks from systemd timers; without systemd nothing runs them, so this loop does
# (`podman healthcheck run` executes the container's own HEALTHCHECK and records the result).
healthcheck_loop() {
  while :; do
    local c
    for c in $(pm ps --filter "label=com.docker.compose.project=$PROJECT" --filter health=starting --filter health=unhealthy --format '{{.ID}}' 2>/dev/null); do
      pm healthcheck run "$c" >/dev/null 2>&1 || true
    done
    sleep 3
  done
}

images() {
  scripts/dev/image.sh build
  [[ $COMPOSE_CASSANDRA == local ]] && scripts/dev/cassandra-image.sh
  return 0
}

up() {
  images
  scripts/dev/tools.sh docker-compose
  start_service
  healthcheck_loop & HC_PID=$!
  say "up -d --wait ($CASSANDRA_IMAGE, $EPHEMERA_IMAGE; CQL 127.0.0.1:$CASSANDRA_PORT, API 127.0.0.1:$API_PORT)"
  local rc=0
  dc up -d --wait --wait-timeout "${COMPOSE_WAIT_TIMEOUT:-400}" || rc=$?
  # Health only gates start-up (depends_on); nothing reads it afterwards.
  kill "$HC_PID" 2>/dev/null || true
  HC_PID=
  if ((rc)); then dc ps -a >&2 || true; dc logs --no-color --tail 40 >&2 || true; return "$rc"; fi
}

down() {
  [[ -n ${HC_PID:-} ]] && kill "$HC_PID" 2>/dev/null || true
  if [[ -S $SOCK ]]; then dc down --volumes --timeout 60 || true; fi
  stop_service
}

run_tests() {
  local t0=$SECONDS rc=0
  trap down EXIT
  up
  say "stack up in $((SECONDS - t0)) s"
  dc ps
  # The one-shot migration ran and exited 0 (compose waited for service_completed_successfully).
  [[ $(pm inspect --format '{{.State.ExitCode}}' "$PROJECT-migrate-1") == 0 ]] || die "migrate did not exit 0"
  say "API conformance suite against http://127.0.0.1:$API_PORT (the containerised API)"
  TEST_BASE_URL=http://127.0.0.1:$API_PORT CASSANDRA_CONTACT_POINTS=127.0.0.1:$CASSANDRA_PORT \
  TEST_HOT_KEYSPACE=ephemera_hot TEST_COLD_KEYSPACE=ephemera_cold \
  COMPOSE_ARCHIVER_URL=http://127.0.0.1:$ARCHIVER_PORT \
    node --import tsx --test --test-concurrency=1 --test-reporter=spec test/inbox/api.test.ts test/compose/*.test.ts || rc=$?
  if ((rc)); then dc logs --no-color --tail 60 >&2 || true; fi
  # docker compose stop: SIGTERM, SIGKILL only after stop_grace_period (15 s); both drain and exit 0.
  dc stop api archiver
  local svc code
  for svc in api archiver; do
    code=$(pm inspect --format '{{.State.ExitCode}}' "$PROJECT-$svc-1")
    if [[ $code == 0 ]]; then say "$svc stopped on SIGTERM with exit 0"; else say "FAIL: $svc exit $code after stop"; rc=1; fi
  done
  say "tests done (rc $rc) in $((SECONDS - t0)) s; tearing down"
  return "$rc"
}

cmd=${1:-test}
case $cmd in
  config) validate ;;
  test) run_tests ;;
  up) up; dc ps; say "left running; DOCKER_HOST=unix://$SOCK; stop with scripts/dev/compose.sh down" ;;
  down) start_service; down ;;
  ps|logs) start_service; shift; dc "$cmd" "$@" ;;
  *) sed -n '2,15p' "$0" >&2; exit 64 ;;
esac
