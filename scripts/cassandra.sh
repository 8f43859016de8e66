#!/usr/bin/env bash
# Local single-node Cassandra for Ephemera development and tests.
# No Docker, no tarball: the server classpath is resolved from Maven Central
# (org.apache.cassandra:cassandra-all + runtime deps) and started with our own config.
#
# Usage: scripts/cassandra.sh up|down|status|reset|logs|--help   (details: --help)
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
MAVEN_REPO_LOCAL=${MAVEN_REPO_LOCAL:-}
# Version 2.8 is what Maven 3.x binds `dependency:` to by default; pinning keeps it offline-friendly.
MAVEN_DEPENDENCY_PLUGIN_VERSION=${MAVEN_DEPENDENCY_PLUGIN_VERSION:-2.8}

# 127.0.0.1 unless a container image (scripts/cassandra-image.sh) says otherwise.
readonly HOST=${CASSANDRA_LISTEN_ADDRESS:-127.0.0.1}
readonly DATACENTER=datacenter1
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

VERSION_DIR=$EPHEMERA_CACHE/cassandra-$CASSANDRA_VERSION
LIB_DIR=$VERSION_DIR/lib
LIB_MARKER=$VERSION_DIR/.resolved

RUN_DIR=$CASSANDRA_HOME_DIR
CONF_DIR=$RUN_DIR/conf
DATA_ROOT=$RUN_DIR/data
LOG_DIR=$RUN_DIR/logs
TMP_DIR=$RUN_DIR/tmp
PID_FILE=$RUN_DIR/cassandra.pid
LOCK_FILE=$RUN_DIR/.lock
OFFSET_FILE=$RUN_DIR/.log-offset
SYSTEM_LOG=$LOG_DIR/system.log
STDOUT_LOG=$LOG_DIR/stdout.log

# ---------------------------------------------------------------- helpers
say()  { printf '==> %s\n' "$*" >&2; }
warn() { printf '==> WARNING: %s\n' "$*" >&2; }
die()  { printf '==> ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<EOF
Usage: scripts/cassandra.sh <command>

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
  CASSANDRA_TIMER_SLACK_NS $CASSANDRA_TIMER_SLACK_NS   (Linux timer slack of the JVM threads; the kernel default is 50000)
  CASSANDRA_START_TIMEOUT  $CASSANDRA_START_TIMEOUT s
  CASSANDRA_STOP_TIMEOUT   $CASSANDRA_STOP_TIMEOUT s
  MAVEN_REPO_LOCAL         (unset: ~/.m2/repository) local Maven repository used to resolve jars
  JAVA_HOME                used if set, else 'java' from PATH; must be JDK 17
EOF
}

# Is $1 a live process that is a Cassandra daemon?
pid_is_cassandra() {
  local pid=$1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r /proc/$pid/cmdline ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'org.apache.cassandra.service.CassandraDaemon'
  fi
}

# Prints the pid of our running daemon; cleans a stale pid file. Returns 1 if none.
running_pid() {
  [[ -f $PID_FILE ]] || return 1
  local pid
  pid=$(tr -dc '0-9' <"$PID_FILE" || true)
  if [[ -n $pid ]] && pid_is_cassandra "$pid"; then
    printf '%s\n' "$pid"
    return 0
  fi
  say "removing stale pid file ($PID_FILE, pid '${pid:-?}' is not a running Cassandra)"
  rm -f "$PID_FILE"
  return 1
}

# Exit status 0 if something listens on TCP port $1 (any local address).
port_in_use() {
  local port=$1
  if command -v ss >/dev/null 2>&1; then
    ss -Hltn 2>/dev/null | awk -v p=":$port" '{ if (substr($4, length($4) - length(p) + 1) == p) found = 1 } END { exit !found }'
  else
    (exec 3<>"/dev/tcp/$HOST/$port") 2>/dev/null
  fi
}

port_owner() {
  command -v ss >/dev/null 2>&1 || return 0
  ss -Hltnp 2>/dev/null | awk -v p=":$1" '{ if (substr($4, length($4) - length(p) + 1) == p) { print $NF; exit } }'
}

have_node_driver() {
  command -v node >/dev/null 2>&1 && [[ -d $REPO_ROOT/node_modules/cassandra-driver ]]
}

# Asks CQL for the server's release_version; prints it. Non-zero if CQL does not answer.
cql_version() {
  have_node_driver || return 2
  EPHEMERA_DRIVER="$REPO_ROOT/node_modules/cassandra-driver" \
  CQL_HOST=$HOST CQL_PORT=$CASSANDRA_PORT CQL_DC=$DATACENTER \
  timeout 20 node -e '
    const cassandra = require(process.env.EPHEMERA_DRIVER);
    const client = new cassandra.Client({
      contactPoints: [process.env.CQL_HOST],
      protocolOptions: { port: Number(process.env.CQL_PORT) },
      localDataCenter: process.env.CQL_DC,
      socketOptions: { connectTimeout: 3000, readTimeout: 5000 },
    });
    const fail = (err) => {
      process.stderr.write(String(err && err.message ? err.message : err) + "\n");
      client.shutdown().catch(() => {}).finally(() => process.exit(1));
    };
    setTimeout(() => fail("timed out"), 15000).unref();
    client.connect()
      .then(() => client.execute("SELECT release_version FROM system.local"))
      .then((rs) => {
        process.stdout.write(rs.first().release_version + "\n");
        return client.shutdown().then(() => process.exit(0));
      })
      .catch(fail);
  ' 2>/dev/null
}

# Did the current start log "Starting listening for CQL clients"? (fallback without node)
log_says_ready() {
  [[ -f $SYSTEM_LOG ]] || return 1
  local offset=0 size
  [[ -f $OFFSET_FILE ]] && offset=$(tr -dc '0-9' <"$OFFSET_FILE")
  size=$(stat -c %s "$SYSTEM_LOG")
  (( size >= ${offset:-0} )) || offset=0   # the log rolled over meanwhile
  tail -c "+$(( ${offset:-0} + 1 ))" "$SYSTEM_LOG" | grep -q 'Starting listening for CQL clients'
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
  local n=${1:-40} offset=0
  if [[ -s $SYSTEM_LOG ]]; then
    [[ -f $OFFSET_FILE ]] && offset=$(tr -dc '0-9' <"$OFFSET_FILE")
    (( $(stat -c %s "$SYSTEM_LOG") >= ${offset:-0} )) || offset=0
    say "last $n lines of $SYSTEM_LOG:"
    tail -c "+$(( ${offset:-0} + 1 ))" "$SYSTEM_LOG" | tail -n "$n" >&2
  fi
  if [[ -s $STDOUT_LOG ]]; then
    say "JVM output ($STDOUT_LOG):"
    awk '/^===== start /{buf=""; next} {buf=buf $0 "\n"} END{printf "%s", buf}' "$STDOUT_LOG" | tail -n 20 >&2
  fi
}

take_lock() {
  mkdir -p "$RUN_DIR"
  exec 9>"$LOCK_FILE"
  if command -v flock >/dev/null 2>&1; then
    flock -w $(( CASSANDRA_START_TIMEOUT + CASSANDRA_STOP_TIMEOUT + 120 )) 9 \
      || die "another scripts/cassandra.sh holds $LOCK_FILE for too long"
  fi
}

# ---------------------------------------------------------------- prerequisites
JAVA_BIN=
check_java() {
  if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
    JAVA_BIN=$JAVA_HOME/bin/java
  elif command -v java >/dev/null 2>&1; then
    JAVA_BIN=$(command -v java)
  else
    die "java not found. Cassandra $CASSANDRA_VERSION needs JDK 17 (Debian: apt-get install openjdk-17-jdk-headless), or set JAVA_HOME."
  fi
  local line ver major
  line=$("$JAVA_BIN" -version 2>&1 | grep -m1 -i 'version' || true)
  ver=$(sed -E 's/.*version "([^"]*)".*/\1/' <<<"$line")
  if [[ $ver == 1.* ]]; then major=$(cut -d. -f2 <<<"$ver"); else major=${ver%%[.+-]*}; fi
  if [[ $major != 17 ]]; then
    local hint="it needs exactly JDK 17"
    [[ $major =~ ^[0-9]+$ ]] && (( major >= 21 )) && hint="JDK 21+ does not work with Cassandra 5.0 (Security Manager removal); use JDK 17"
    die "$JAVA_BIN is Java '${ver:-unknown}': $hint. Point JAVA_HOME at a JDK 17."
  fi
}

resolve_libs() {
  if [[ -f $LIB_MARKER && -f $LIB_DIR/cassandra-all-$CASSANDRA_VERSION.jar ]]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 \
    || die "mvn not found; it is needed once to fetch Cassandra $CASSANDRA_VERSION jars (Debian: apt-get install maven)."
  mkdir -p "$VERSION_DIR"
  local pom=$VERSION_DIR/pom.xml partial=$VERSION_DIR/lib.partial mvnlog=$VERSION_DIR/resolve.log
  cat >"$pom" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/cassandra.sh: only used to collect the Cassandra server classpath. -->
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.ephemera</groupId>
  <artifactId>cassandra-server-classpath</artifactId>
  <version>$CASSANDRA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>$CASSANDRA_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
  rm -rf "$partial"
  local -a mvn_args=(-B -q -f "$pom")
  [[ -n $MAVEN_REPO_LOCAL ]] && mvn_args+=("-Dmaven.repo.local=$MAVEN_REPO_LOCAL")
  mvn_args+=(
    "org.apache.maven.plugins:maven-dependency-plugin:$MAVEN_DEPENDENCY_PLUGIN_VERSION:copy-dependencies"
    -DincludeScope=runtime
    "-DoutputDirectory=$partial"
  )
  say "resolving org.apache.cassandra:cassandra-all:$CASSANDRA_VERSION and its runtime dependencies (one-time; log: $mvnlog)"
  local t0=$SECONDS
  # An "[ERROR]" about \${jmc5.path} in this log is harmless.
  if ! mvn "${mvn_args[@]}" >"$mvnlog" 2>&1; then
    tail -n 30 "$mvnlog" >&2 || true
    die "Maven could not resolve Cassandra $CASSANDRA_VERSION (see $mvnlog)"
  fi
  [[ -f $partial/cassandra-all-$CASSANDRA_VERSION.jar ]] \
    || die "Maven finished but $partial has no cassandra-all-$CASSANDRA_VERSION.jar (see $mvnlog)"
  rm -rf "$LIB_DIR"
  mv "$partial" "$LIB_DIR"
  printf 'cassandra-all %s resolved %s\n' "$CASSANDRA_VERSION" "$(date -u +%FT%TZ)" >"$LIB_MARKER"
  say "resolved $(find "$LIB_DIR" -name '*.jar' | wc -l) jars ($(du -sh "$LIB_DIR" | cut -f1)) in $(( SECONDS - t0 ))s"
}

# ---------------------------------------------------------------- generated config
write_config() {
  mkdir -p "$CONF_DIR" "$DATA_ROOT"/{data,commitlog,saved_caches,hints,cdc_raw} "$LOG_DIR" "$TMP_DIR" "$RUN_DIR/triggers"
  local yaml=$CONF_DIR/cassandra.yaml
  cat >"$yaml.tmp" <<EOF
# Generated by scripts/cassandra.sh on every 'up'; edit the script, not this file.
# Single local node for development and tests.
cluster_name: 'Ephemera'
num_tokens: 1
initial_token: 0
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
dynamic_snitch: false
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "$HOST:$CASSANDRA_STORAGE_PORT"

listen_address: $HOST
rpc_address: $HOST
storage_port: $CASSANDRA_STORAGE_PORT
start_native_transport: true
native_transport_port: $CASSANDRA_PORT
native_transport_max_threads: 64

data_file_directories:
  - '$DATA_ROOT/data'
commitlog_directory: '$DATA_ROOT/commitlog'
saved_caches_directory: '$DATA_ROOT/saved_caches'
hints_directory: '$DATA_ROOT/hints'
cdc_raw_directory: '$DATA_ROOT/cdc_raw'

commitlog_sync: periodic
commitlog_sync_period: 10000ms
commitlog_segment_size: 32MiB
commitlog_total_space: 512MiB

# 5.0 on-disk formats only (fresh cluster), no snapshots on drop/truncate.
storage_compatibility_mode: NONE
auto_snapshot: false
snapshot_before_compaction: false
incremental_backups: false
hinted_handoff_enabled: false

# Storage-attached indexes by default; LWT with the 5.0 Paxos implementation.
default_secondary_index: sai
default_secondary_index_enabled: true
sasi_indexes_enabled: false
materialized_views_enabled: false
paxos_variant: v2

# Small machine (2 cores).
concurrent_reads: 16
concurrent_writes: 16
concurrent_counter_writes: 16
concurrent_compactors: 1
compaction_throughput: 64MiB/s
key_cache_size: 32MiB
file_cache_size: 128MiB
prepared_statements_cache_size: 16MiB

# Tracing friendly: TRACING ON / probabilistic tracing results kept a day,
# queries slower than this land in system.log.
trace_type_query_ttl: 1d
trace_type_repair_ttl: 7d
slow_query_log_timeout: 500ms
EOF
  mv "$yaml.tmp" "$yaml"

  cat >"$CONF_DIR/logback.xml.tmp" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/cassandra.sh. INFO and above to logs/system.log, nothing to the console. -->
<configuration scan="false">
  <appender name="SYSTEMLOG" class="ch.qos.logback.core.rolling.RollingFileAppender">
    <file>${cassandra.logdir}/system.log</file>
    <rollingPolicy class="ch.qos.logback.core.rolling.SizeAndTimeBasedRollingPolicy">
      <fileNamePattern>${cassandra.logdir}/system.log.%d{yyyy-MM-dd}.%i.gz</fileNamePattern>
      <maxFileSize>50MB</maxFileSize>
      <maxHistory>7</maxHistory>
      <totalSizeCap>300MB</totalSizeCap>
    </rollingPolicy>
    <filter class="ch.qos.logback.classic.filter.ThresholdFilter">
      <level>INFO</level>
    </filter>
    <encoder>
      <pattern>%-5level [%thread] %date{ISO8601} %logger{1} - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="SYSTEMLOG"/>
  </root>
</configuration>
EOF
  mv "$CONF_DIR/logback.xml.tmp" "$CONF_DIR/logback.xml"
}

jvm_options() {
  JVM_OPTS=(
    "-Xms$CASSANDRA_HEAP" "-Xmx$CASSANDRA_HEAP" -Xss256k
    # G1, as in Cassandra's jvm17-server.options
    -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1
    -XX:G1HeapRegionSize=16m -XX:G1RSetUpdatingPauseTimePercent=5
    -XX:MaxGCPauseMillis=300 -XX:InitiatingHeapOccupancyPercent=70
    -XX:+UseThreadPriorities -XX:+UseTLAB -XX:+ResizeTLAB -XX:+PerfDisableSharedMem
    -XX:+HeapDumpOnOutOfMemoryError "-XX:HeapDumpPath=$RUN_DIR" -XX:+CrashOnOutOfMemoryError
    "-XX:ErrorFile=$LOG_DIR/hs_err_%p.log"
    "-Xlog:gc=info,safepoint=warning:file=$LOG_DIR/gc.log:time,uptime:filecount=3,filesize=10m"
    # No -ea: the distribution enables assertions, which costs CPU on every request.
    # SEP workers rename their thread (a prctl syscall) on every task unless told not to.
    -Dcassandra.set_sep_thread_name=false
    # JDK 17 module access
    -Djdk.attach.allowAttachSelf=true
    --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
    --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
    --add-exports java.management/com.sun.jmx.remote.security=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
    --add-exports java.sql/java.sql=ALL-UNNAMED
    --add-exports java.base/java.lang.ref=ALL-UNNAMED
    --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
    --add-opens java.base/java.lang.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
    --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
    --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
    --add-opens java.base/jdk.internal.math=ALL-UNNAMED
    --add-opens java.base/jdk.internal.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
    --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
    --add-opens java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens java.base/java.io=ALL-UNNAMED
    --add-opens java.base/java.lang.reflect=ALL-UNNAMED
    --add-opens java.base/java.lang=ALL-UNNAMED
    --add-opens java.base/java.util=ALL-UNNAMED
    --add-opens java.base/java.nio=ALL-UNNAMED
    -Dio.netty.tryReflectionSetAccessible=true
    -Dio.netty.allocator.useCacheForAllThreads=true
    -Dio.netty.allocator.maxOrder=11
    -Djava.net.preferIPv4Stack=true
    -Dchronicle.analytics.disable=true
    # where things are
    "-Dcassandra.config=file://$CONF_DIR/cassandra.yaml"
    "-Dlogback.configurationFile=$CONF_DIR/logback.xml"
    "-Dcassandra.storagedir=$DATA_ROOT"
    "-Dcassandra.logdir=$LOG_DIR"
    "-Dcassandra.triggers_dir=$RUN_DIR/triggers"
    "-Djava.io.tmpdir=$TMP_DIR"
    "-Djna.tmpdir=$TMP_DIR"
    -Dcassandra-foreground=yes
    # JMX on 127.0.0.1 only, no auth
    "-Dcassandra.jmx.local.port=$CASSANDRA_JMX_PORT"
    "-Djava.rmi.server.hostname=$HOST"
    # quick single-node start-up
    -Dcassandra.skip_wait_for_gossip_to_settle=0
    -Dcassandra.load_ring_state=false
    -Dcassandra.unsafesystem=true
    -Dcassandra.superuser_setup_delay_ms=0
  )
  # The distribution adds these when a full JDK (javac) is present.
  local javac
  javac=$(dirname "$(readlink -f "$JAVA_BIN")")/javac
  if [[ -x $javac ]]; then
    JVM_OPTS+=(
      --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
      --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
      --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
    )
  fi
  local jamm
  jamm=$(find "$LIB_DIR" -maxdepth 1 -name 'jamm-*.jar' | sort | tail -n 1)
  [[ -n $jamm ]] && JVM_OPTS+=("-javaagent:$jamm")
  return 0
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
      die "Cassandra (pid $pid) did not answer on $HOST:$CASSANDRA_PORT within ${CASSANDRA_START_TIMEOUT}s; it is left running (scripts/cassandra.sh down to stop it)"
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
    warn "the running node reports $ver but CASSANDRA_VERSION is $CASSANDRA_VERSION (scripts/cassandra.sh down && up to switch)"
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
  jvm_options
  rm -rf "${TMP_DIR:?}"/* 2>/dev/null || true
  mkdir -p "$TMP_DIR"
  if [[ -f $SYSTEM_LOG ]]; then stat -c %s "$SYSTEM_LOG" >"$OFFSET_FILE"; else echo 0 >"$OFFSET_FILE"; fi
  printf '\n===== start %s =====\n' "$(date -u +%FT%TZ)" >>"$STDOUT_LOG"

  say "starting Cassandra $CASSANDRA_VERSION (heap $CASSANDRA_HEAP, CQL $HOST:$CASSANDRA_PORT, storage $CASSANDRA_STORAGE_PORT, JMX $CASSANDRA_JMX_PORT)"
  cd "$RUN_DIR"
  # setsid + nohup: own session, so it outlives the calling make and ignores its Ctrl-C / hang-up.
  # fd 9 (our lock) must not be inherited.
  # Timer slack (inherited by every JVM thread): Cassandra's idle pool workers poll in ~10 µs naps, and on a small
  # machine those wake-ups cost more CPU than the requests; a coarser slack lets the kernel batch them.
  nohup setsid bash -c 'echo "$0" >/proc/self/timerslack_ns 2>/dev/null; exec "$@"' "$CASSANDRA_TIMER_SLACK_NS" \
    "$JAVA_BIN" "${JVM_OPTS[@]}" \
    -cp "$CONF_DIR:$LIB_DIR/*" org.apache.cassandra.service.CassandraDaemon \
    </dev/null >>"$STDOUT_LOG" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"
  wait_until_ready "$pid"
  report_ready "$pid"
  say "started in $(( SECONDS - t0 ))s (logs: scripts/cassandra.sh logs)"
}

stop_node() {
  local pid
  if ! pid=$(running_pid); then
    say "Cassandra is not running (no live pid in $PID_FILE)"
    return 0
  fi
  say "stopping Cassandra (pid $pid, SIGTERM)"
  kill -TERM "$pid" 2>/dev/null || true
  local t0=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    if (( SECONDS - t0 >= CASSANDRA_STOP_TIMEOUT )); then
      warn "Cassandra (pid $pid) still running after ${CASSANDRA_STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 1
  done
  rm -f "$PID_FILE"
  say "stopped after $(( SECONDS - t0 ))s"
}

# In the foreground, as a container's main process (scripts/cassandra-image.sh): same config and JVM options
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
    -cp "$CONF_DIR:$LIB_DIR/*" org.apache.cassandra.service.CassandraDaemon
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
  say "reset done; 'scripts/cassandra.sh up' starts a fresh node"
}

du_of() { if [[ -e $1 ]]; then du -sh "$1" 2>/dev/null | cut -f1; else echo "-"; fi; }

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

cmd_logs() {
  local follow=0 lines=100 arg
  for arg in "$@"; do
    case $arg in
      -f|--follow) follow=1 ;;
      ''|*[!0-9]*) die "logs: unknown argument '$arg' (use -f and/or a line count)" ;;
      *) lines=$arg ;;
    esac
  done
  [[ -f $SYSTEM_LOG ]] || die "no log yet at $SYSTEM_LOG"
  if (( follow )); then exec tail -n "$lines" -F "$SYSTEM_LOG"; fi
  tail -n "$lines" "$SYSTEM_LOG"
}

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
