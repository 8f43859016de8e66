#!/usr/bin/env bash
# Local three-node Cassandra ring for the fault suite (test/cluster). Same cached jars, config template and JVM
# flags as scripts/dev/cassandra.sh (scripts/dev/lib/cassandra-node.sh); each node on its own loopback address, so the
# single node on 127.0.0.1 (CQL 9042, storage 7000, JMX 7199) keeps running beside it.
#
# Usage: scripts/dev/cluster.sh up|down|status|cached|start N|stop N|kill N|partition N|heal N|nodetool N ...|--help
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin

# ---------------------------------------------------------------- settings
CASSANDRA_VERSION=${CASSANDRA_VERSION:-5.0.8}
EPHEMERA_CACHE=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}
# Not 127.0.0.1: that is the shared single node's address. The whole 127/8 routes to lo on Linux, so these
# bind without `ip addr add`.
CLUSTER_ADDRESSES=${CLUSTER_ADDRESSES:-127.0.0.2 127.0.0.3 127.0.0.4}
CLUSTER_DIR=${CLUSTER_DIR:-$EPHEMERA_CACHE/cluster}
CLUSTER_HEAP=${CLUSTER_HEAP:-640M}
# JMX listens on 127.0.0.1 only, so each node needs its own port: base + node number (7201, 7202, 7203).
CLUSTER_JMX_BASE=${CLUSTER_JMX_BASE:-7200}
CLUSTER_START_TIMEOUT=${CLUSTER_START_TIMEOUT:-420}
CASSANDRA_PORT=9042
CASSANDRA_STORAGE_PORT=7000
CASSANDRA_HEAP=$CLUSTER_HEAP
CASSANDRA_TIMER_SLACK_NS=${CASSANDRA_TIMER_SLACK_NS:-500000}
CASSANDRA_STOP_TIMEOUT=${CASSANDRA_STOP_TIMEOUT:-60}
CASSANDRA_CLUSTER_NAME=EphemeraCluster
CASSANDRA_HINTED_HANDOFF=true
# A SIGKILLed node must come back with its schema (found: with unsafesystem it forgot the test keyspaces and
# failed every read it took part in).
CASSANDRA_UNSAFE_SYSTEM=false
# Five seconds instead of 30: a restarted node needs less to learn the ring of two live peers on loopback.
# Deliberately not the single node's quick-start flags (load_ring_state=false, skip_wait_for_gossip_to_settle=0):
# a ring node restarts as in production, with its peers' tokens from system.peers and gossip settled.
CASSANDRA_EXTRA_JVM_OPTS=(-Dcassandra.ring_delay_ms=5000)

DATACENTER=datacenter1
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib/cassandra-node.sh
source "$REPO_ROOT/scripts/dev/lib/cassandra-node.sh"

read -r -a ADDRS <<<"$CLUSTER_ADDRESSES"
(( ${#ADDRS[@]} == 3 )) || die "CLUSTER_ADDRESSES must name three addresses, got '${CLUSTER_ADDRESSES}'"
# One token each, evenly spaced over the Murmur3 range (-2^63 + i * 2^64/3): with RF 3 every node holds everything.
readonly TOKENS=(-9223372036854775808 -3074457345618258603 3074457345618258602)
# Every node is a seed: a node restarted after a kill finds the ring from whichever peer is up.
CASSANDRA_SEEDS=$(printf "%s:$CASSANDRA_STORAGE_PORT," "${ADDRS[@]}"); CASSANDRA_SEEDS=${CASSANDRA_SEEDS%,}

usage() {
  cat <<EOF
Usage: scripts/dev/cluster.sh <command>

Three Cassandra $CASSANDRA_VERSION nodes (one datacenter, RF-3 capable ring) on $CLUSTER_ADDRESSES.

Commands:
  up          start the nodes that are not running (first node first), wait until all three are UN
  down        stop all three (SIGTERM, SIGKILL after \$CASSANDRA_STOP_TIMEOUT s)
  status      per node: pid, RSS, CQL answer; then the ring as node 1..3 sees it (exit 0 only if all UN)
  cached      exit 0 if the Cassandra jars are already resolved (no download needed)
  start N     start node N (1..3) with CQL closed; open it (nodetool enablebinary) once N sees every running
              node UN and every running peer sees N UN; wait until CQL answers
  launch N    start node N with CQL closed and return at once (no wait, CQL stays closed: for tests)
  stop N      SIGTERM node N;  kill N: SIGKILL node N (a crash)
  pause N     SIGSTOP node N (a GC pause or a frozen VM: sockets stay open, nothing answers);  resume N: SIGCONT
  nodetool N  run nodetool against node N's JMX, e.g. 'nodetool 2 disablebinary'
  partition N cut node N off (iptables DROP on its address, else nodetool disablegossip + disablebinary)
  heal N      undo it and wait until the ring sees node N UN again
  reset       down, then delete $CLUSTER_DIR (the jars stay)

Environment (defaults):
  CLUSTER_ADDRESSES  $CLUSTER_ADDRESSES   (CQL 9042 and storage 7000 on each)
  CLUSTER_HEAP       $CLUSTER_HEAP per node
  CLUSTER_JMX_BASE   $CLUSTER_JMX_BASE   (node N: JMX on 127.0.0.1:\$((CLUSTER_JMX_BASE+N)))
  CLUSTER_DIR        $CLUSTER_DIR   (node1..node3: conf, data, logs, pid)
  CLUSTER_START_TIMEOUT $CLUSTER_START_TIMEOUT s
  CASSANDRA_VERSION, EPHEMERA_CACHE, JAVA_HOME as for scripts/dev/cassandra.sh
EOF
}

# Selects node $1 (1..3): sets HOST, JMX port, token and per-node paths for the library functions.
select_node() {
  local n=$1
  [[ $n =~ ^[123]$ ]] || die "node number must be 1, 2 or 3, got '$n'"
  NODE=$n
  HOST=${ADDRS[n-1]}
  CASSANDRA_JMX_PORT=$(( CLUSTER_JMX_BASE + n ))
  CASSANDRA_JMX_HOST=127.0.0.1
  CASSANDRA_INITIAL_TOKEN=${TOKENS[n-1]}
  node_paths "$CLUSTER_DIR/node$n"
}

node_pid() { daemon_pid "$PID_FILE" "$CASSANDRA_MAIN"; }

# Something listens on $HOST:$1 (this address exactly, or the wildcard)?
addr_port_in_use() {
  ss -Hltn 2>/dev/null | awk -v a="$HOST:$1" -v w="0.0.0.0:$1" '$4 == a || $4 == w { f = 1 } END { exit !f }'
}

# A hung JMX call must not hang the caller: every nodetool run is bounded.
nodetool_cmd() {
  timeout 60 "$JAVA_BIN" -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "-Dlogback.configurationFile=$CONF_DIR/logback.xml" \
    -Dcassandra.logdir="$LOG_DIR/nodetool" --add-exports java.base/sun.nio.ch=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED \
    --add-exports java.base/jdk.internal.misc=ALL-UNNAMED --add-exports java.base/jdk.internal.ref=ALL-UNNAMED \
    --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/java.nio=ALL-UNNAMED -cp "$CONF_DIR:$LIB_DIR/*" org.apache.cassandra.tools.NodeTool \
    -h 127.0.0.1 -p "$CASSANDRA_JMX_PORT" "$@"
}

# Prints "<state> <address>" for every node the ring of node $1 knows (UN, DN, UJ, ...). Non-zero if JMX is down.
ring_of() {
  select_node "$1"
  local out
  out=$(nodetool_cmd status 2>/dev/null) || return 1
  awk '/^[UD][NJLM] +[0-9]/ { print $1, $2 }' <<<"$out"
}

# Exit 0 when node $1 sees every running node UN (all three after 'up'; after 'start N' with a peer still down,
# the live ones).
all_un_from() {
  local ring m live=()
  for m in 1 2 3; do select_node "$m"; node_pid >/dev/null && live+=("$HOST"); done
  ring=$(ring_of "$1") || { LAST_RING="(JMX not answering)"; return 1; }
  LAST_RING=$(tr '\n' ' ' <<<"$ring")
  for m in "${live[@]}"; do grep -qx "UN $m" <<<"$ring" || return 1; done
}

start_one() {
  select_node "$1"
  local pid
  if pid=$(node_pid); then say "node $NODE ($HOST) already running, pid $pid"; return 0; fi
  local port
  for port in "$CASSANDRA_PORT" "$CASSANDRA_STORAGE_PORT"; do
    addr_port_in_use "$port" && die "$HOST:$port is already in use (not by node $NODE from $RUN_DIR)"
  done
  ss -Hltn | awk -v p=":$CASSANDRA_JMX_PORT" '{ if (substr($4, length($4) - length(p) + 1) == p) f = 1 } END { exit !f }' \
    && die "JMX port $CASSANDRA_JMX_PORT is in use; set CLUSTER_JMX_BASE"
  write_config
  # auto_bootstrap off: the ring is created fresh with fixed tokens, and a restarted node keeps its data.
  printf 'auto_bootstrap: false\n' >>"$CONF_DIR/cassandra.yaml"
  # CQL closed at start: a node that serves clients before it knows its peers are up coordinates Paxos alone on
  # stale data (issue 27: a chat number handed out twice). open_cql_when_ready opens it.
  sed -i 's/^start_native_transport: true$/start_native_transport: false/' "$CONF_DIR/cassandra.yaml"
  grep -qx 'start_native_transport: false' "$CONF_DIR/cassandra.yaml" || die "could not close CQL in $CONF_DIR/cassandra.yaml"
  jvm_options
  say "starting node $NODE: CQL $HOST:$CASSANDRA_PORT, storage $HOST:$CASSANDRA_STORAGE_PORT, JMX 127.0.0.1:$CASSANDRA_JMX_PORT, heap $CLUSTER_HEAP"
  launch_daemon
  STARTED_AT[NODE]=$SECONDS
}

# Exit 0 when every running peer of node $1 sees it UN (none running: vacuously).
peers_see_un() {
  local n=$1 m host ring
  select_node "$n"; host=$HOST
  for m in 1 2 3; do
    (( m == n )) && continue
    select_node "$m"; node_pid >/dev/null || continue
    ring=$(ring_of "$m") || { LAST_RING="node $m: JMX not answering"; return 1; }
    grep -qx "UN $host" <<<"$ring" || { LAST_RING="node $m sees: $(tr '\n' ' ' <<<"$ring")"; return 1; }
  done
}

# Has node $1's daemon finished start(), since its last launch? JMX and `nodetool status` answer earlier, while
# enablebinary still fails ("setup() must be called first").
daemon_started() {
  select_node "$1"
  local offset found
  offset=$(tr -dc '0-9' <"$OFFSET_FILE" 2>/dev/null || true)
  # grep -c reads to the end: with grep -q, tail got SIGPIPE on a long log and pipefail turned "found" into "not".
  found=$(log_since_launch | tail -c +"$(( ${offset:-0} + 1 ))" | grep -c 'Startup complete' || true)
  (( ${found:-0} > 0 ))
}

# The node's system.log as one stream from the file it was in at launch on: logback rolls system.log into
# system.log.DATE.N.gz, so the rolled files written since the launch come first (oldest first) and the launch
# offset still points into the start of the stream. (Its inode cannot tell a roll: the new file may reuse it.)
log_since_launch() {
  find "$LOG_DIR" -maxdepth 1 -name 'system.log.*.gz' -newer "$OFFSET_FILE" -printf '%T@ %p\n' 2>/dev/null \
    | sort -n | cut -d' ' -f2- | while read -r f; do zcat "$f" 2>/dev/null || true; done
  cat "$SYSTEM_LOG" 2>/dev/null || true
}

# The ring part of a restart: node $1 sees every running node UN (peers' tokens loaded, gossip heard from each)
# and every running peer sees it UN; only then `nodetool enablebinary`. Idempotent for a node already serving.
open_cql_when_ready() {
  local n=$1 t0=$2
  until daemon_started "$n" && all_un_from "$n" && peers_see_un "$n"; do
    daemon_started "$n" || LAST_RING="start-up not complete"
    select_node "$n"
    node_pid >/dev/null || { show_tail; die "node $n ($HOST) exited during start-up (log: $SYSTEM_LOG)"; }
    (( SECONDS - t0 < CLUSTER_START_TIMEOUT )) || die "node $n and its peers do not all see each other UN after ${CLUSTER_START_TIMEOUT}s: $LAST_RING"
    say "  ... node $n: $LAST_RING ($(( SECONDS - t0 ))s)"
    sleep 3
  done
  select_node "$n"
  if [[ $(nodetool_cmd statusbinary 2>/dev/null) != running ]]; then
    nodetool_cmd enablebinary
    say "node $n ($HOST): ring complete, CQL opened (nodetool enablebinary) after $(( SECONDS - ${STARTED_AT[n]:-t0} ))s"
  fi
}

# For every listed node: the ring condition, CQL opened, then CQL answering. Progress every few seconds.
wait_nodes() {
  local t0=$SECONDS n
  for n in "$@"; do
    open_cql_when_ready "$n" "$t0"
    select_node "$n"
    until cql_version >/dev/null; do
      (( SECONDS - t0 < CLUSTER_START_TIMEOUT )) || die "node $n not answering CQL after ${CLUSTER_START_TIMEOUT}s"
      sleep 1
    done
    say "node $n ($HOST) answers CQL after $(( SECONDS - ${STARTED_AT[n]:-t0} ))s"
  done
  # Every node sees every running node UN (a peer that had its gossip disabled and re-enabled included).
  for n in "$@"; do
    while ! all_un_from "$n"; do
      (( SECONDS - t0 < CLUSTER_START_TIMEOUT )) || die "node $n does not see every running node UN after ${CLUSTER_START_TIMEOUT}s: $LAST_RING"
      say "  ... node $n sees: $LAST_RING ($(( SECONDS - t0 ))s)"
      sleep 3
    done
  done
}

show_tail() { [[ -f $SYSTEM_LOG ]] && tail -n 30 "$SYSTEM_LOG" >&2 || true; }

rss_mib() { awk '/^VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

declare -a STARTED_AT=()
LAST_RING=

cmd_up() {
  check_java
  resolve_libs
  local t0=$SECONDS n pid rest=()
  select_node 1
  if ! node_pid >/dev/null; then
    # The first node alone, so the other two join a ring that already has its system keyspaces settled.
    start_one 1
    wait_nodes 1
  fi
  for n in 2 3; do select_node "$n"; node_pid >/dev/null || rest+=("$n"); done
  for n in ${rest[@]+"${rest[@]}"}; do start_one "$n"; done
  wait_nodes 1 2 3
  local rss=()
  for n in 1 2 3; do select_node "$n"; pid=$(node_pid); rss+=("node$n $(rss_mib "$pid") MiB"); done
  say "cluster up in $(( SECONDS - t0 ))s: all three UN; RSS ${rss[*]}"
  say "contact points: $(printf '%s:9042,' "${ADDRS[@]}" | sed 's/,$//')"
}

stop_one() {
  local signal=$1
  select_node "$2"
  local pid
  if ! pid=$(node_pid); then say "node $NODE not running"; return 0; fi
  say "node $NODE ($HOST, pid $pid): SIG$signal"
  stop_pids "$CASSANDRA_STOP_TIMEOUT" "$signal" "$pid"
  rm -f "$PID_FILE"
}

# Partition node $1 from its peers and from the clients: with iptables (root, netfilter available), drop every
# packet from or to its address (only that address: the single node on 127.0.0.1 is untouched); otherwise stop
# its gossip and its CQL port via nodetool. Prints which one it used.
PARTITION_CHAIN=EPHEMERA_PARTITION
have_iptables() { command -v iptables >/dev/null 2>&1 && iptables -S INPUT >/dev/null 2>&1; }

cmd_partition() {
  select_node "$1"
  if have_iptables; then
    iptables -N "$PARTITION_CHAIN" 2>/dev/null || true
    iptables -C INPUT -j "$PARTITION_CHAIN" 2>/dev/null || iptables -I INPUT -j "$PARTITION_CHAIN"
    iptables -A "$PARTITION_CHAIN" -s "$HOST" -j DROP
    iptables -A "$PARTITION_CHAIN" -d "$HOST" -j DROP
    echo iptables
  else
    check_java
    nodetool_cmd disablebinary && nodetool_cmd disablegossip
    echo nodetool
  fi
}

cmd_heal() {
  select_node "$1"
  if have_iptables; then
    iptables -D "$PARTITION_CHAIN" -s "$HOST" -j DROP 2>/dev/null || true
    iptables -D "$PARTITION_CHAIN" -d "$HOST" -j DROP 2>/dev/null || true
    if [[ -z $(iptables -S "$PARTITION_CHAIN" 2>/dev/null | grep -- '-A ') ]]; then
      iptables -D INPUT -j "$PARTITION_CHAIN" 2>/dev/null || true
      iptables -X "$PARTITION_CHAIN" 2>/dev/null || true
    fi
    echo iptables
  else
    check_java
    # CQL is opened by wait_nodes once the ring sees the node again (open_cql_when_ready), not before.
    nodetool_cmd enablegossip
    echo nodetool
  fi
}

# SIGTERM to every running node at once (each drains for seconds), then wait for all.
cmd_down() {
  local n pid pids=() t0=$SECONDS
  for n in 1 2 3; do
    select_node "$n"
    if pid=$(node_pid); then say "node $n ($HOST, pid $pid): SIGTERM"; pids+=("$pid"); fi
    rm -f "$PID_FILE"
  done
  (( ${#pids[@]} == 0 )) || stop_pids "$CASSANDRA_STOP_TIMEOUT" TERM "${pids[@]}"
  say "cluster stopped in $(( SECONDS - t0 ))s"
}

cmd_status() {
  local n pid rc=0 ver
  for n in 1 2 3; do
    select_node "$n"
    if pid=$(node_pid); then
      ver=$(cql_version || true)
      echo "node $n  $HOST  pid $pid  RSS $(rss_mib "$pid") MiB  JMX $CASSANDRA_JMX_PORT  CQL ${ver:-not answering}"
    else
      echo "node $n  $HOST  stopped"; rc=3
    fi
  done
  (( rc == 3 )) && [[ -z $(for n in 1 2 3; do select_node "$n"; node_pid || true; done) ]] && return 3
  check_java
  for n in 1 2 3; do
    if ring=$(ring_of "$n"); then
      echo "ring as node $n sees it: $(tr '\n' ' ' <<<"$ring")"
      all_un_from "$n" || rc=1
      return "$rc"
    fi
  done
  echo "ring: no node answers JMX"
  return 3
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    up)       cmd_up ;;
    down)     cmd_down ;;
    status)   cmd_status ;;
    cached)   [[ -f $LIB_MARKER && -f $LIB_DIR/cassandra-all-$CASSANDRA_VERSION.jar ]] ;;
    start)    check_java; resolve_libs; start_one "${1:?node number}"; wait_nodes "$1" ;;
    launch)   check_java; resolve_libs; start_one "${1:?node number}" ;;
    stop)     stop_one TERM "${1:?node number}" ;;
    kill)     stop_one KILL "${1:?node number}" ;;
    pause|resume)
              select_node "${1:?node number}"; pid=$(node_pid) || die "node $NODE is not running"
              kill "-$([[ $cmd == pause ]] && echo STOP || echo CONT)" "$pid"; say "node $NODE (pid $pid): $cmd" ;;
    nodetool) check_java; select_node "${1:?node number}"; shift; nodetool_cmd "$@" ;;
    partition) cmd_partition "${1:?node number}" ;;
    heal)     cmd_heal "${1:?node number}"; check_java; wait_nodes "$1" ;;
    reset)    cmd_down; rm -rf "${CLUSTER_DIR:?}"; say "removed $CLUSTER_DIR" ;;
    -h|--help|help) usage ;;
    *)        usage >&2; exit 2 ;;
  esac
}

main "$@"
