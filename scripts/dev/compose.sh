#!/usr/bin/env bash
# compose.yaml, for real: the Docker Compose v2 CLI (built from its Go module by scripts/dev/tools.sh) against
# podman's Docker-compatible API socket (no Docker engine here), with compose.hostnet.yaml on top (host
# networking on 127.0.0.1, ports that leave the developer's Cassandra and `make run` alone).
#
#   scripts/dev/compose.sh config   validate compose.yaml (+ the override) offline: `docker-compose config -q`
#   scripts/dev/compose.sh test     build the images, `up -d`, wait for every healthcheck, run the API conformance
#                               suite (test/inbox/api.test.ts) and test/compose/ (archiver, search through the
#                               indexer, bodies in the S3 server's bucket with their history) against the stack,
#                               stop the app services (exit 0 on SIGTERM), `down -v`
#   scripts/dev/compose.sh up|down|ps|logs   the same stack by hand (DOCKER_HOST is set for you)
#
# COMPOSE_IMAGES=local (default): Cassandra, OpenSearch and versitygw from images built here from what the local
# scripts run (scripts/dev/cassandra-image.sh, opensearch-image.sh, versitygw-image.sh: the cached Maven jars and
# the versitygw binary); =official: CASSANDRA_IMAGE, OPENSEARCH_IMAGE, VERSITYGW_IMAGE as published (compose.yaml's
# defaults), for machines that can pull them. COMPOSE_CASSANDRA is the old name of the same switch.
# EPHEMERA_IMAGE (localhost/ephemera:dev) is the app image built from this checkout.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO_ROOT"
EPHEMERA_CACHE=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}
export PATH=$EPHEMERA_CACHE/bin:$PATH
RUN_DIR=$EPHEMERA_CACHE/compose
SOCK=$RUN_DIR/podman.sock
PROJECT=${COMPOSE_PROJECT:-ephemera-test}
COMPOSE_IMAGES=${COMPOSE_IMAGES:-${COMPOSE_CASSANDRA:-local}}
export CASSANDRA_PORT=${COMPOSE_CASSANDRA_PORT:-19142} CASSANDRA_STORAGE_PORT=${COMPOSE_CASSANDRA_STORAGE_PORT:-17100}
export CASSANDRA_JMX_PORT=${COMPOSE_CASSANDRA_JMX_PORT:-17299} API_PORT=${COMPOSE_API_PORT:-18180}
export ARCHIVER_PORT=${COMPOSE_ARCHIVER_PORT:-18181} ARCHIVE_INTERVAL_SECONDS=${ARCHIVE_INTERVAL_SECONDS:-5}
export COUNTS_PORT=${COMPOSE_COUNTS_PORT:-18182} INDEXER_PORT=${COMPOSE_INDEXER_PORT:-18183}
export SWEEPER_PORT=${COMPOSE_SWEEPER_PORT:-18184}
# The test watches the sweeper remove an orphan: a pass every 5 s, objects orphaned for 30 s (defaults 300 / 600).
export SWEEP_INTERVAL_SECONDS=${SWEEP_INTERVAL_SECONDS:-5} BODY_ORPHAN_GRACE_SECONDS=${BODY_ORPHAN_GRACE_SECONDS:-30}
export OPENSEARCH_HTTP_PORT=${COMPOSE_OPENSEARCH_PORT:-19200} OPENSEARCH_TRANSPORT_PORT=${COMPOSE_OPENSEARCH_TRANSPORT_PORT:-19300}
export S3_PORT=${COMPOSE_S3_PORT:-19700} S3_BUCKET=${COMPOSE_S3_BUCKET:-ephemera}
export EPHEMERA_IMAGE=${EPHEMERA_IMAGE:-localhost/ephemera:dev}
case $COMPOSE_IMAGES in
  local)
    export CASSANDRA_IMAGE=localhost/ephemera-cassandra:${CASSANDRA_VERSION:-5.0.8}
    export OPENSEARCH_IMAGE=localhost/ephemera-opensearch:$(awk -F'[: ]' '$1 == "org.opensearch" && $2 == "opensearch" { print $3 }' scripts/dev/opensearch/artifacts.txt)
    export VERSITYGW_IMAGE=localhost/ephemera-versitygw:$(sed -nE 's/^VERSITYGW_VERSION=v?([^ ]+).*/\1/p' scripts/dev/tools.sh) ;;
  official) ;;
  *) echo "COMPOSE_IMAGES must be local or official" >&2; exit 64 ;;
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
  # The file's own rules, on the resolved model (every profile): the whole stack with no profile, nothing
  # privileged, every service limited, the app services hardened like the chart, data only in named volumes.
  docker-compose -f compose.yaml --profile '*' config --format json | node -e '
    const m = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
    const bad = [];
    const want = ["cassandra", "opensearch", "s3", "s3-bucket", "migrate", "api", "archiver", "counts", "indexer", "sweeper"];
    for (const name of want) if (!m.services[name]) bad.push(`${name}: missing`);
    for (const [name, s] of Object.entries(m.services)) {
      if (s.profiles?.length) bad.push(`${name}: behind profile ${s.profiles.join(",")} (docker compose up must run everything)`);
      if (s.privileged) bad.push(`${name}: privileged`);
      const lim = s.deploy?.resources?.limits ?? {};
      if (!lim.cpus || !lim.memory) bad.push(`${name}: no cpu/memory limit`);
      for (const v of s.volumes ?? []) if (v.type !== "volume") bad.push(`${name}: ${v.type} mount ${v.target}`);
      if (String(s.image).includes("ephemera:") && !(s.read_only && s.user === "10001:10001" && s.cap_drop?.includes("ALL")))
        bad.push(`${name}: app container not read-only/uid 10001/cap_drop ALL`);
    }
    if (bad.length) { console.error(bad.join("\n")); process.exit(1); }
    if (m.services.api?.environment?.CHAT_BODY_STORE !== "s3") bad.push("api: CHAT_BODY_STORE is not s3");
    if (bad.length) { console.error(bad.join("\n")); process.exit(1); }
    console.log(`compose rules: ${Object.keys(m.services).length} services, none behind a profile, all limited, none privileged, app containers hardened, bodies in s3`);'
  # Negative control: the validator must reject a misspelt service key.
  local bad; bad=$(mktemp "${TMPDIR:-/tmp}/compose-bad.XXXXXX.yaml")
  sed 's/^    stop_grace_period: 15s$/    stop_grace_periodd: 15s/' compose.yaml >"$bad"
  if docker-compose -f "$bad" config -q 2>/dev/null; then rm -f "$bad"; die "docker-compose config accepted an unknown key"; fi
  rm -f "$bad"
  echo "compose config: compose.yaml, + compose.hostnet.yaml valid; a misspelt key is rejected"
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
  IMAGE=$EPHEMERA_IMAGE scripts/dev/image.sh build
  if [[ $COMPOSE_IMAGES == local ]]; then
    CASSANDRA_LOCAL_IMAGE=$CASSANDRA_IMAGE scripts/dev/cassandra-image.sh
    # Its jars come from `make search-up`'s first run (Maven Central), like Cassandra's from cassandra-up.
    OPENSEARCH_LOCAL_IMAGE=$OPENSEARCH_IMAGE scripts/dev/opensearch-image.sh
    VERSITYGW_LOCAL_IMAGE=$VERSITYGW_IMAGE scripts/dev/versitygw-image.sh
  fi
  return 0
}

up() {
  images
  scripts/dev/tools.sh docker-compose
  start_service
  healthcheck_loop & HC_PID=$!
  say "up -d --wait ($CASSANDRA_IMAGE, ${OPENSEARCH_IMAGE:-official OpenSearch}, ${VERSITYGW_IMAGE:-official versitygw}, $EPHEMERA_IMAGE; CQL 127.0.0.1:$CASSANDRA_PORT, OpenSearch :$OPENSEARCH_HTTP_PORT, S3 :$S3_PORT, API 127.0.0.1:$API_PORT)"
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
  COMPOSE_ARCHIVER_URL=http://127.0.0.1:$ARCHIVER_PORT COMPOSE_API_URL=http://127.0.0.1:$API_PORT \
  COMPOSE_S3_URL=http://127.0.0.1:$S3_PORT COMPOSE_S3_BUCKET=$S3_BUCKET COMPOSE_S3_CONTAINER=$PROJECT-s3-1 \
  COMPOSE_OPENSEARCH_URL=http://127.0.0.1:$OPENSEARCH_HTTP_PORT COMPOSE_PODMAN="$REPO_ROOT/scripts/dev/image.sh podman" \
    node --import tsx --test --test-concurrency=1 --test-reporter=spec test/inbox/api.test.ts test/compose/*.test.ts || rc=$?
  if ((rc)); then dc logs --no-color --tail 60 >&2 || true; fi
  # docker compose stop: SIGTERM, SIGKILL only after stop_grace_period (15 s); both drain and exit 0.
  dc stop api archiver counts indexer sweeper
  local svc code
  for svc in api archiver counts indexer sweeper; do
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
