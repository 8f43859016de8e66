#!/usr/bin/env bash
# Local single-node Cassandra for Ephemera development and tests.
# No Docker, no tarball: the server classpath is resolved from Maven Central
# (org.apache.cassandra:cassandra-all + runtime deps) and started with our own config.
#
# Usage: scripts/dev/cassandra.sh up|down|status|reset|logs|--help   (details: --help)
set -euo pipefail

# ---------------------------------------------------------------- settings
CASSANDRA_VERSION=${CASSANDRA_VERSION:-5.0.8}
EPHEMERA_CACHE=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}
CASSANDRA_HOME_DIR=${CASSANDRA_HOME_DIR:-$EPHEMERA_CACHE/cassandra-run}
CASSANDRA_PORT=${CASSANDRA_PORT:-9042}
CASSANDRA_STORAGE_PORT=${CASSANDRA_STORAGE_PORT:-7000}
CASSANDRA_JMX_PORT=${CASSANDRA_JMX_PORT:-7199}
CASSANDRA_HEAP=${CASSANDRA_HEAP:-1G}
CASSANDRA_TIMER_SLACK_NS=${CASSANDRA_TIMER_SLACK_NS:-500000}
CASSANDRA_START_TIMEOUT=${CASSANDRA_START_TIMEOUT:-300}
CASSANDRA_STOP_TIMEOUT=${CASSANDRA_STOP_TIMEOUT:-60}

# 127.0.0.1 unless a container image (scripts/dev/cassandra-image.sh) says otherwise.
readonly HOST=${CASSANDRA_LISTEN_ADDRESS:-127.0.0.1}
readonly DATACENTER=datacenter1
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib/cassandra-node.sh
source "$REPO_ROOT/scripts/dev/lib/cassandra-node.sh"
node_paths "$CASSANDRA_HOME_DIR"

# ---------------------------------------------------------------- helpers

usage() {
  cat <<EOF
Usage: scripts/dev/cassandra.sh <command>

Runs a single-node Apache Cassandra $CASSANDRA_VERSION on $HOST for local development.

Commands:
  up       resolve the server jars once (Maven), start Cassandra in the background and
           wait until CQL answers. Reuses a healthy running node.
  foreground  run it in the foreground (a container's entry point; exec java)
  down     stop it (SIGTERM, SIGKILL after \$CASSANDRA_STOP_TIMEOUT s)
  status   running or not, pid, ports, answered version, dirs, disk use
           (exit 0: running and answering, 1: process up but CQL not answering, 3: stopped)
  reset    down, then wipe data, commitlog, saved caches and hints (keeps the jars)
  logs     print the last 100 lines of system.log; 'logs -f' follows, 'logs N' prints N lines
  --help   this text

Environment (defaults):
  CASSANDRA_VERSION        $CASSANDRA_VERSION
  EPHEMERA_CACHE           $EPHEMERA_CACHE   (jars in cassandra-<version>/lib)
  CASSANDRA_HOME_DIR       $CASSANDRA_HOME_DIR   (conf, data, logs, pid)
  CASSANDRA_PORT           $CASSANDRA_PORT   (CQL native transport)
  CASSANDRA_STORAGE_PORT   $CASSANDRA_STORAGE_PORT
  CASSANDRA_JMX_PORT       $CASSANDRA_JMX_PORT   (local only)
  CASSANDRA_HEAP           $CASSANDRA_HEAP   (-Xms = -Xmx)
  CASSANDRA_GC             ${CASSANDRA_GC:-g1}   (g1 or parallel)
  CASSANDRA_TIMER_SLACK_NS $CASSANDRA_TIMER_SLACK_NS   (Linux timer slack of the JVM threads; the kernel default is 50000)
  CASSANDRA_START_TIMEOUT  $CASSANDRA_START_TIMEOUT s
  CASSANDRA_STOP_TIMEOUT   $CASSANDRA_STOP_TIMEOUT s
  MAVEN_REPO_LOCAL         (unset: ~/.m2/repository) local Maven repository used to resolve jars
  JAVA_HOME                used if set, else 'java' from PATH; must be JDK 17
EOF
}

# Prints the pid of our running daemon; cleans a stale pid file. Returns 1 if none.
running_pid() { daemon_pid "$PID_FILE" "$CASSANDRA_MAIN" Cassandra; }

# Exit status 0 if something listens on TCP port $1 on $HOST (or on every address): a private second node on
# another loopback address (CASSANDRA_LISTEN_ADDRESS=127.0.0.9, own CASSANDRA_HOME_DIR, storage and JMX ports)
# shares the CQL port 9042 with the shared node on 127.0.0.1.
port_in_use() {
  local port=$1
  if command -v ss >/dev/null 2>&1; then
    ss -Hltn 2>/dev/null | awk -v p=":$port" -v h="$HOST" '{ a = $4; if (a == h p || a == "0.0.0.0" p || a == "*" p || a == "[::]" p) found = 1 } END { exit !found }'
  else
    (exec 3<>"/dev/tcp/$HOST/$port") 2>/dev/null
  fi
}

port_owner() {
  command -v ss >/dev/null 2>&1 || return 0
  ss -Hltnp 2>/dev/null | awk -v p=":$1" -v h="$HOST" '{ a = $4; if (a == h p || a == "0.0.0.0" p || a == "*" p) { print $NF; exit } }'
}

# Did the current start log "Starting listening for CQL clients"? (fallback without node)
log_says_ready() {
  [[ -f $SYSTEM_LOG ]] || return 1
  grep -q 'Starting listening for CQL clients' < <(log_since_start "$SYSTEM_LOG" "$OFFSET_FILE")
}

# 0 if the node answers (or, without node, its log says it listens)
node_ready() {
  if have_node_driver; then
    cql_version >/dev/null
  else
    log_says_ready
  fi
}

# Tail of this start's logs only (system.log from the recorded offset, stdout.log from the last marker).
show_log_tail() {
  local n=${1:-40}
  if [[ -s $SYSTEM_LOG ]]; then
    say "last $n lines of $SYSTEM_LOG:"
    log_since_start "$SYSTEM_LOG" "$OFFSET_FILE" | tail -n "$n" >&2
  fi
  if [[ -s $STDOUT_LOG ]]; then
    say "JVM output ($STDOUT_LOG):"
    awk '/^===== start /{buf=""; next} {buf=buf $0 "\n"} END{printf "%s", buf}' "$STDOUT_LOG" | tail -n 20 >&2
  fi
}

take_lock() {
  hold_lock "$RUN_DIR" "$LOCK_FILE" $(( CASSANDRA_START_TIMEOUT + CASSANDRA_STOP_TIMEOUT + 120 )) scripts/dev/cassandra.sh
}

# ---------------------------------------------------------------- commands
wait_until_ready() {
  local pid=$1 t0=$SECONDS last=-1 elapsed
  if have_node_driver; then
    say "waiting for CQL on $HOST:$CASSANDRA_PORT (timeout ${CASSANDRA_START_TIMEOUT}s)"
  else
    say "node or node_modules/cassandra-driver missing: waiting for 'Starting listening for CQL clients' in $SYSTEM_LOG"
  fi
  while :; do
    elapsed=$(( SECONDS - t0 ))
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      show_log_tail 60
      die "Cassandra (pid $pid) exited during start-up after ${elapsed}s"
    fi
    if node_ready; then
      return 0
    fi
    if (( elapsed >= CASSANDRA_START_TIMEOUT )); then
      show_log_tail 60
      die "Cassandra (pid $pid) did not answer on $HOST:$CASSANDRA_PORT within ${CASSANDRA_START_TIMEOUT}s; it is left running (scripts/dev/cassandra.sh down to stop it)"
    fi
    if (( elapsed / 5 != last / 5 )) && (( elapsed > 0 )); then
      say "  ... starting (${elapsed}s)"
    fi
    last=$elapsed
    sleep 2
  done
}

report_ready() {
  local pid=$1 ver=${2:-}
  if [[ -z $ver ]] && have_node_driver; then ver=$(cql_version || true); fi
  say "Cassandra ${ver:-$CASSANDRA_VERSION} up: pid $pid, CQL $HOST:$CASSANDRA_PORT (datacenter1), data in $DATA_ROOT"
  if [[ -n $ver && $ver != "$CASSANDRA_VERSION" ]]; then
    warn "the running node reports $ver but CASSANDRA_VERSION is $CASSANDRA_VERSION (scripts/dev/cassandra.sh down && up to switch)"
  fi
}

cmd_up() {
  take_lock
  local pid ver t0=$SECONDS
  if pid=$(running_pid); then
    if have_node_driver && ver=$(cql_version); then
      report_ready "$pid" "$ver"
      say "already running; reusing it"
      return 0
    elif ! have_node_driver && log_says_ready; then
      report_ready "$pid"
      say "already running; reusing it"
      return 0
    fi
    say "Cassandra pid $pid is running but not answering yet; waiting for it"
    wait_until_ready "$pid"
    report_ready "$pid"
    return 0
  fi

  check_java
  local port
  for port in "$CASSANDRA_PORT" "$CASSANDRA_STORAGE_PORT" "$CASSANDRA_JMX_PORT"; do
    if port_in_use "$port"; then
      local owner
      owner=$(port_owner "$port" || true)
      die "port $port is already in use${owner:+ by $owner}, and not by a Cassandra started from $RUN_DIR. Stop that process, or pick other ports via CASSANDRA_PORT / CASSANDRA_STORAGE_PORT / CASSANDRA_JMX_PORT."
    fi
  done
  resolve_libs
  write_config
  # Alone, with no peer to learn: skip the gossip settle wait and the saved ring (not in `foreground`, the image).
  CASSANDRA_DEV_QUICK_START=true jvm_options
  say "starting Cassandra $CASSANDRA_VERSION (heap $CASSANDRA_HEAP, CQL $HOST:$CASSANDRA_PORT, storage $CASSANDRA_STORAGE_PORT, JMX $CASSANDRA_JMX_PORT)"
  launch_daemon
  pid=$DAEMON_PID
  wait_until_ready "$pid"
  report_ready "$pid"
  say "started in $(( SECONDS - t0 ))s (logs: scripts/dev/cassandra.sh logs)"
}

stop_node() { stop_daemon Cassandra "$PID_FILE" "$CASSANDRA_MAIN" "$CASSANDRA_STOP_TIMEOUT"; }

# In the foreground, as a container's main process (scripts/dev/cassandra-image.sh): same config and JVM options
# as `up`, no pid file, no readiness wait (the container's healthcheck does that); JVM_EXTRA_OPTS is appended
# as in the official image. exec: the JVM is PID 1 and gets the runtime's SIGTERM.
cmd_foreground() {
  check_java
  resolve_libs
  write_config
  jvm_options
  rm -rf "${TMP_DIR:?}"/* 2>/dev/null || true
  mkdir -p "$TMP_DIR"
  say "Cassandra $CASSANDRA_VERSION in the foreground (heap $CASSANDRA_HEAP, CQL $HOST:$CASSANDRA_PORT, storage $CASSANDRA_STORAGE_PORT, JMX $CASSANDRA_JMX_PORT; log $SYSTEM_LOG)"
  cd "$RUN_DIR"
  # shellcheck disable=SC2086 # JVM_EXTRA_OPTS is a list of words, as in cassandra-env.sh
  exec "$JAVA_BIN" "${JVM_OPTS[@]}" ${JVM_EXTRA_OPTS:-} \
    -cp "$CONF_DIR:$LIB_DIR/*" "$CASSANDRA_MAIN"
}

cmd_down() {
  take_lock
  stop_node
}

cmd_reset() {
  take_lock
  stop_node
  say "wiping data, commitlog, saved caches, hints under $DATA_ROOT (jars in $LIB_DIR kept)"
  rm -rf "${DATA_ROOT:?}"/{data,commitlog,saved_caches,hints,cdc_raw} "${TMP_DIR:?}"
  say "reset done; 'scripts/dev/cassandra.sh up' starts a fresh node"
}

cmd_status() {
  local pid="" ver="" rc=3
  if pid=$(running_pid 2>/dev/null); then
    if have_node_driver; then ver=$(cql_version || true); fi
    if [[ -n $ver ]] || { ! have_node_driver && log_says_ready; }; then rc=0; else rc=1; fi
  else
    pid=""
  fi
  case $rc in
    0) echo "Cassandra:   running (pid $pid)${ver:+, answers CQL as release $ver}" ;;
    1) echo "Cassandra:   process running (pid $pid) but CQL is not answering (starting, or stuck: see logs)" ;;
    3) echo "Cassandra:   not running" ;;
  esac
  echo "Version:     $CASSANDRA_VERSION (pinned)$([[ -f $LIB_MARKER ]] || echo ', jars not resolved yet')"
  echo "Ports:       CQL $HOST:$CASSANDRA_PORT, storage $CASSANDRA_STORAGE_PORT, JMX $CASSANDRA_JMX_PORT (local)"
  echo "Data dir:    $DATA_ROOT ($(du_of "$DATA_ROOT"))"
  echo "Logs:        $SYSTEM_LOG"
  echo "Jars:        $LIB_DIR ($(du_of "$LIB_DIR"))"
  echo "Cache total: $EPHEMERA_CACHE ($(du_of "$EPHEMERA_CACHE"))"
  return "$rc"
}

cmd_logs() { show_log "$SYSTEM_LOG" "$@"; }

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    up)     cmd_up ;;
    foreground) cmd_foreground ;;
    down)   cmd_down ;;
    status) cmd_status ;;
    reset)  cmd_reset ;;
    logs)   cmd_logs "$@" ;;
    -h|--help|help) usage ;;
    '')     usage >&2; exit 2 ;;
    *)      printf '==> ERROR: unknown command %s\n\n' "$cmd" >&2; usage >&2; exit 2 ;;
  esac
}

main "$@"
