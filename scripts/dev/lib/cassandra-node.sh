#!/usr/bin/env bash
# Shared by scripts/dev/cassandra.sh (one node on 127.0.0.1) and scripts/dev/cluster.sh (three nodes on aliases):
# the jar resolution, cassandra.yaml/logback.xml rendered from scripts/dev/cassandra/, the JVM flags and the daemon launch.
# Sourced, never run. The caller sets CASSANDRA_VERSION, EPHEMERA_CACHE, CASSANDRA_* ports/heap, HOST,
# DATACENTER and REPO_ROOT, then calls node_paths <run dir> before using the per-node functions.
# Per-node knobs with single-node defaults: CASSANDRA_CLUSTER_NAME, CASSANDRA_SEEDS, CASSANDRA_INITIAL_TOKEN,
# CASSANDRA_HINTED_HANDOFF, CASSANDRA_EXTRA_JVM_OPTS (array).

MAVEN_REPO_LOCAL=${MAVEN_REPO_LOCAL:-}
# Version 2.8 is what Maven 3.x binds `dependency:` to by default; pinning keeps it offline-friendly.
MAVEN_DEPENDENCY_PLUGIN_VERSION=${MAVEN_DEPENDENCY_PLUGIN_VERSION:-2.8}
VERSION_DIR=$EPHEMERA_CACHE/cassandra-$CASSANDRA_VERSION
LIB_DIR=$VERSION_DIR/lib
LIB_MARKER=$VERSION_DIR/.resolved
# cassandra.yaml, logback.xml and the classpath pom, rendered by lib/render.sh (@NAME@ placeholders).
CASSANDRA_TEMPLATES=$REPO_ROOT/scripts/dev/cassandra
# shellcheck source=render.sh
source "$REPO_ROOT/scripts/dev/lib/render.sh"

# shellcheck source=common.sh
source "$REPO_ROOT/scripts/dev/lib/common.sh"
# shellcheck source=daemon.sh
source "$REPO_ROOT/scripts/dev/lib/daemon.sh"

# Sets the per-node paths under run dir $1.
node_paths() {
  RUN_DIR=$1
  CONF_DIR=$RUN_DIR/conf
  DATA_ROOT=$RUN_DIR/data
  LOG_DIR=$RUN_DIR/logs
  TMP_DIR=$RUN_DIR/tmp
  PID_FILE=$RUN_DIR/cassandra.pid
  LOCK_FILE=$RUN_DIR/.lock
  OFFSET_FILE=$RUN_DIR/.log-offset
  SYSTEM_LOG=$LOG_DIR/system.log
  STDOUT_LOG=$LOG_DIR/stdout.log
}

# What a Cassandra daemon's command line contains (lib/daemon.sh tells our node from another process by it).
readonly CASSANDRA_MAIN=org.apache.cassandra.service.CassandraDaemon


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
  render "$CASSANDRA_TEMPLATES/pom.xml.tmpl" CASSANDRA_VERSION="$CASSANDRA_VERSION" >"$pom"
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
  render "$CASSANDRA_TEMPLATES/cassandra.yaml.tmpl" \
    CLUSTER_NAME="${CASSANDRA_CLUSTER_NAME:-Ephemera}" INITIAL_TOKEN="${CASSANDRA_INITIAL_TOKEN:-0}" \
    SEEDS="${CASSANDRA_SEEDS:-$HOST:$CASSANDRA_STORAGE_PORT}" HOST="$HOST" STORAGE_PORT="$CASSANDRA_STORAGE_PORT" \
    NATIVE_PORT="$CASSANDRA_PORT" DATA_ROOT="$DATA_ROOT" HINTED_HANDOFF="${CASSANDRA_HINTED_HANDOFF:-false}" >"$yaml.tmp"
  # CASSANDRA_EXTRA_YAML: lines appended, to measure a setting before it goes into this template
  # (docs/performance.md, round 3: trie memtables + BTI were tried this way).
  [[ -n ${CASSANDRA_EXTRA_YAML:-} ]] && printf '\n# CASSANDRA_EXTRA_YAML\n%s\n' "$CASSANDRA_EXTRA_YAML" >>"$yaml.tmp"
  mv "$yaml.tmp" "$yaml"

  cp "$CASSANDRA_TEMPLATES/logback.xml" "$CONF_DIR/logback.xml.tmp"
  mv "$CONF_DIR/logback.xml.tmp" "$CONF_DIR/logback.xml"
}

# CASSANDRA_GC picks the collector: g1 (default, as in Cassandra's jvm17-server.options) or parallel (the
# throughput collector, measured against g1 in docs/performance.md).
gc_options() {
  case ${CASSANDRA_GC:-g1} in
    g1) GC_OPTS=(-XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1
      -XX:G1HeapRegionSize=16m -XX:G1RSetUpdatingPauseTimePercent=5
      -XX:MaxGCPauseMillis=300 -XX:InitiatingHeapOccupancyPercent=70) ;;
    parallel) GC_OPTS=(-XX:+UseParallelGC) ;;
    *) echo "CASSANDRA_GC must be g1 or parallel, got '${CASSANDRA_GC}'" >&2; return 64 ;;
  esac
}

jvm_options() {
  gc_options || exit 64
  JVM_OPTS=(
    "-Xms$CASSANDRA_HEAP" "-Xmx$CASSANDRA_HEAP" -Xss256k
    "${GC_OPTS[@]}"
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
    "-Djava.rmi.server.hostname=${CASSANDRA_JMX_HOST:-$HOST}"
  )
  # Quick start-up for the single dev node only (scripts/dev/cassandra.sh up sets CASSANDRA_DEV_QUICK_START=true):
  # never for a ring member nor in an image. A ring node started with them forgets its peers' tokens and opens CQL
  # before gossip: it then decided Paxos rounds with an electorate of one, on its pre-kill data, and handed out a
  # chat number twice (docs: ../shared review "node-kill anomaly", issue 27).
  # The default-role setup without its 10 s delay belongs there too: on a ring node whose peers are not up yet it
  # retries at once, and logged "skipped default role setup" plus a stack trace ~9,000 times in 5 minutes (over
  # 100 MB: system.log rolled twice during one `cluster.sh up`).
  [[ ${CASSANDRA_DEV_QUICK_START:-false} == true ]] \
    && JVM_OPTS+=(-Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.load_ring_state=false
      -Dcassandra.superuser_setup_delay_ms=0)
  # System tables without the commit log start faster, but a killed node then forgets schema changes: only for
  # the single node, which is never killed (CASSANDRA_UNSAFE_SYSTEM=false in scripts/dev/cluster.sh).
  [[ ${CASSANDRA_UNSAFE_SYSTEM:-true} == true ]] && JVM_OPTS+=(-Dcassandra.unsafesystem=true)
  # e.g. the cluster's shorter ring delay
  JVM_OPTS+=(${CASSANDRA_EXTRA_JVM_OPTS[@]+"${CASSANDRA_EXTRA_JVM_OPTS[@]}"})
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


# Starts the daemon in the background for the current node_paths; sets DAEMON_PID.
launch_daemon() {
  rm -rf "${TMP_DIR:?}"/* 2>/dev/null || true
  mkdir -p "$TMP_DIR"
  mark_log_start "$SYSTEM_LOG" "$OFFSET_FILE"
  printf '\n===== start %s =====\n' "$(date -u +%FT%TZ)" >>"$STDOUT_LOG"
  # Timer slack (inherited by every JVM thread): Cassandra's idle pool workers poll in ~10 µs naps, and on a small
  # machine those wake-ups cost more CPU than the requests; a coarser slack lets the kernel batch them.
  launch_detached "$RUN_DIR" "$PID_FILE" "$STDOUT_LOG" \
    bash -c 'echo "$0" >/proc/self/timerslack_ns 2>/dev/null; exec "$@"' "$CASSANDRA_TIMER_SLACK_NS" \
    "$JAVA_BIN" "${JVM_OPTS[@]}" -cp "$CONF_DIR:$LIB_DIR/*" "$CASSANDRA_MAIN"
}
