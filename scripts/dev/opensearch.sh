#!/usr/bin/env bash
# Local single-node OpenSearch for Ephemera development and tests.
# No Docker, no tarball (the distribution is not on Maven Central): the server and its netty module are resolved
# from Maven Central (scripts/dev/opensearch/artifacts.txt), and the home is laid out from the templates beside it.
#
# Usage: scripts/dev/opensearch.sh up|down|status|reset|logs|--help   (details: --help)
set -euo pipefail

# ---------------------------------------------------------------- settings
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TEMPLATES=$REPO_ROOT/scripts/dev/opensearch
ARTIFACTS=$TEMPLATES/artifacts.txt
EPHEMERA_CACHE=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}
OPENSEARCH_RUN_DIR=${OPENSEARCH_RUN_DIR:-$EPHEMERA_CACHE/opensearch-run}
OPENSEARCH_HTTP_PORT=${OPENSEARCH_HTTP_PORT:-9200}
OPENSEARCH_TRANSPORT_PORT=${OPENSEARCH_TRANSPORT_PORT:-9300}
OPENSEARCH_HEAP=${OPENSEARCH_HEAP:-512m}
# Where the node binds (network.host). Only the image's `foreground` changes it (0.0.0.0 on a bridge network);
# the local node, its checks and curl stay on 127.0.0.1.
OPENSEARCH_NETWORK_HOST=${OPENSEARCH_NETWORK_HOST:-127.0.0.1}
OPENSEARCH_START_TIMEOUT=${OPENSEARCH_START_TIMEOUT:-180}
OPENSEARCH_STOP_TIMEOUT=${OPENSEARCH_STOP_TIMEOUT:-30}
MAVEN_REPO_LOCAL=${MAVEN_REPO_LOCAL:-}
MAVEN_DEPENDENCY_PLUGIN_VERSION=${MAVEN_DEPENDENCY_PLUGIN_VERSION:-2.8}

readonly HOST=127.0.0.1
# The version is pinned where the artifacts are listed.
OPENSEARCH_VERSION=$(awk -F'[: ]' '$1 == "org.opensearch" && $2 == "opensearch" { print $3 }' "$ARTIFACTS")
[[ -n $OPENSEARCH_VERSION ]] || { echo "==> ERROR: no org.opensearch:opensearch line in $ARTIFACTS" >&2; exit 1; }

# The distribution (jars, module descriptors) is read-only once built; the run dir holds what changes.
DIST_DIR=$EPHEMERA_CACHE/opensearch-$OPENSEARCH_VERSION
DIST_MARKER=$DIST_DIR/.resolved
CONF_DIR=$OPENSEARCH_RUN_DIR/config
DATA_DIR=$OPENSEARCH_RUN_DIR/data
LOG_DIR=$OPENSEARCH_RUN_DIR/logs
TMP_DIR=$OPENSEARCH_RUN_DIR/tmp
PID_FILE=$OPENSEARCH_RUN_DIR/opensearch.pid
LOCK_FILE=$OPENSEARCH_RUN_DIR/.lock
OFFSET_FILE=$OPENSEARCH_RUN_DIR/.log-offset
NODE_LOG=$LOG_DIR/opensearch.log
BASE_URL=http://$HOST:$OPENSEARCH_HTTP_PORT

# ---------------------------------------------------------------- helpers
# shellcheck source=lib/common.sh
source "$REPO_ROOT/scripts/dev/lib/common.sh"
# shellcheck source=lib/daemon.sh
source "$REPO_ROOT/scripts/dev/lib/daemon.sh"

usage() {
  cat <<EOF
Usage: scripts/dev/opensearch.sh <command>

Runs a single-node OpenSearch $OPENSEARCH_VERSION on $HOST for local development (no security plugin).

Commands:
  up       resolve the jars once (Maven Central), lay out the home, start the node in the background and
           wait until /_cluster/health is green or yellow. Reuses a healthy running node.
  foreground  run it in the foreground (a container's entry point; exec java)
  down     stop it (SIGTERM, SIGKILL after \$OPENSEARCH_STOP_TIMEOUT s)
  status   running or not, pid, health, version, ports, dirs, disk use
           (exit 0: running and healthy, 1: process up but not answering, 3: stopped)
  reset    down, then wipe the data (keeps the jars)
  logs     print the last 100 lines of the node log; 'logs -f' follows, 'logs N' prints N lines
  closure  print every resolved Maven artifact and where it went (scripts/dev/opensearch/closure.txt)
  --help   this text

Environment (defaults):
  EPHEMERA_CACHE             $EPHEMERA_CACHE   (jars in opensearch-<version>/)
  OPENSEARCH_RUN_DIR         $OPENSEARCH_RUN_DIR   (config, data, logs, pid)
  OPENSEARCH_HTTP_PORT       $OPENSEARCH_HTTP_PORT
  OPENSEARCH_TRANSPORT_PORT  $OPENSEARCH_TRANSPORT_PORT
  OPENSEARCH_HEAP            $OPENSEARCH_HEAP   (-Xms = -Xmx)
  OPENSEARCH_START_TIMEOUT   $OPENSEARCH_START_TIMEOUT s
  OPENSEARCH_STOP_TIMEOUT    $OPENSEARCH_STOP_TIMEOUT s
  MAVEN_REPO_LOCAL           (unset: ~/.m2/repository) local Maven repository used to resolve jars
  JAVA_HOME                  used if set, else 'java' from PATH; must be JDK 17 (OpenSearch 2.19 + security manager)
EOF
}

# What an OpenSearch node's command line contains (lib/daemon.sh tells our node from another process by it).
readonly OPENSEARCH_MAIN=org.opensearch.bootstrap.OpenSearch

# Prints the pid of our running node; cleans a stale pid file. Returns 1 if none.
running_pid() { daemon_pid "$PID_FILE" "$OPENSEARCH_MAIN" OpenSearch; }

port_in_use() {
  ss -Hltn 2>/dev/null | awk -v p=":$1" '{ if (substr($4, length($4) - length(p) + 1) == p) found = 1 } END { exit !found }'
}

port_owner() {
  ss -Hltnp 2>/dev/null | awk -v p=":$1" '{ if (substr($4, length($4) - length(p) + 1) == p) { print $NF; exit } }'
}

# Prints the cluster health status (green/yellow/red); non-zero if HTTP does not answer.
health() {
  local body
  body=$(curl -fsS -m 3 "$BASE_URL/_cluster/health" 2>/dev/null) || return 1
  sed -nE 's/.*"status":"([a-z]+)".*/\1/p' <<<"$body"
}

# Prints the version the node on the port answers with; non-zero if none.
answered_version() {
  local body
  body=$(curl -fsS -m 3 "$BASE_URL/" 2>/dev/null) || return 1
  grep -q '"distribution" *: *"opensearch"' <<<"$body" || return 1
  sed -nE 's/.*"number" *: *"([^"]+)".*/\1/p' <<<"$body" | head -n 1
}

healthy() {
  local h
  h=$(health) || return 1
  [[ $h == green || $h == yellow ]]
}

# The node log of this start only (from the offset recorded at start).
show_log_tail() {
  local n=${1:-40}
  [[ -s $NODE_LOG ]] || return 0
  say "last $n lines of $NODE_LOG:"
  log_since_start "$NODE_LOG" "$OFFSET_FILE" | tail -n "$n" >&2
}

take_lock() {
  hold_lock "$OPENSEARCH_RUN_DIR" "$LOCK_FILE" $(( OPENSEARCH_START_TIMEOUT + OPENSEARCH_STOP_TIMEOUT + 300 )) \
    scripts/dev/opensearch.sh
}

# ---------------------------------------------------------------- prerequisites
JAVA_BIN=
check_java() {
  if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
    JAVA_BIN=$JAVA_HOME/bin/java
  elif command -v java >/dev/null 2>&1; then
    JAVA_BIN=$(command -v java)
  else
    die "java not found. OpenSearch $OPENSEARCH_VERSION needs JDK 17 (Debian: apt-get install openjdk-17-jdk-headless), or set JAVA_HOME."
  fi
  local ver
  ver=$("$JAVA_BIN" -version 2>&1 | sed -nE '1s/.*version "([0-9]+).*/\1/p')
  # 2.19 runs under the security manager, which JDK 18+ refuses without extra flags and JDK 24 removed.
  [[ $ver == 17 ]] || die "$JAVA_BIN is Java '${ver:-unknown}': OpenSearch $OPENSEARCH_VERSION is run here on JDK 17. Point JAVA_HOME at a JDK 17."
  # (Not in the image's `foreground`: there the container's healthcheck asks, not this script.)
  [[ ${1:-} == --no-curl ]] || command -v curl >/dev/null 2>&1 \
    || die "curl not found (apt-get install curl): it is how readiness is checked"
}

# ---------------------------------------------------------------- the distribution
# Copies the runtime closure of the artifacts listed for destination $1 into $2, and lists it in $3.
resolve_group() {
  local dest=$1 out=$2 list=$3 name=${1//\//-}
  local pom=$DIST_DIR/pom-$name.xml mvnlog=$DIST_DIR/resolve-$name.log deps=""
  local coord g a v
  while read -r coord d; do
    [[ -z $coord || $coord == \#* || $d != "$dest" ]] && continue
    IFS=: read -r g a v <<<"$coord"
    deps+="    <dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version></dependency>"$'\n'
  done <"$ARTIFACTS"
  [[ -n $deps ]] || die "no artifacts for $dest in $ARTIFACTS"
  awk -v name="$name" -v deps="$deps" '{ gsub(/@NAME@/, name); if ($0 == "@DEPENDENCIES@") printf "%s", deps; else print }' \
    "$TEMPLATES/pom.xml.tmpl" >"$pom"
  local -a mvn_args=(-B -q -f "$pom")
  [[ -n $MAVEN_REPO_LOCAL ]] && mvn_args+=("-Dmaven.repo.local=$MAVEN_REPO_LOCAL")
  local plugin=org.apache.maven.plugins:maven-dependency-plugin:$MAVEN_DEPENDENCY_PLUGIN_VERSION
  if ! mvn "${mvn_args[@]}" "$plugin:copy-dependencies" -DincludeScope=runtime "-DoutputDirectory=$out" >"$mvnlog" 2>&1 \
    || ! mvn "${mvn_args[@]}" "$plugin:list" -DincludeScope=runtime "-DoutputFile=$list" >>"$mvnlog" 2>&1; then
    tail -n 30 "$mvnlog" >&2 || true
    die "Maven could not resolve the artifacts for $dest (see $mvnlog)"
  fi
}

resolve_dist() {
  [[ -f $DIST_MARKER ]] && return 0
  command -v mvn >/dev/null 2>&1 \
    || die "mvn not found; it is needed once to fetch OpenSearch $OPENSEARCH_VERSION jars (Debian: apt-get install maven)."
  say "resolving OpenSearch $OPENSEARCH_VERSION from Maven Central (one-time; listed in $ARTIFACTS)"
  local t0=$SECONDS partial=$DIST_DIR/partial dest dir
  rm -rf "$partial"
  mkdir -p "$partial/lib" "$partial/bin" "$partial/plugins"
  resolve_group lib "$partial/lib" "$partial/closure-lib.txt"
  [[ -f $partial/lib/opensearch-$OPENSEARCH_VERSION.jar ]] || die "Maven finished but lib/ has no opensearch-$OPENSEARCH_VERSION.jar"
  while read -r dest; do
    dir=$partial/$dest
    mkdir -p "$dir"
    resolve_group "$dest" "$dir" "$partial/closure-${dest//\//-}.txt"
    # A jar both on the classpath (lib/) and in a module aborts start-up ("jar hell"): the module keeps only its own.
    local jar
    for jar in "$dir"/*.jar; do
      if [[ -e $partial/lib/${jar##*/} ]]; then rm -f "$jar"; fi
    done
    local module=${dest#modules/}
    sed "s/@VERSION@/$OPENSEARCH_VERSION/g" "$TEMPLATES/$module.properties" >"$dir/plugin-descriptor.properties"
    if [[ -f $TEMPLATES/$module.policy ]]; then cp "$TEMPLATES/$module.policy" "$dir/plugin-security.policy"; fi
  done < <(awk '$2 ~ /^modules\// { print $2 }' "$ARTIFACTS" | sort -u)
  rm -f "$DIST_DIR"/pom-*.xml
  rm -rf "${DIST_DIR:?}"/{lib,bin,plugins,modules}
  mv "$partial"/* "$DIST_DIR"/ && rmdir "$partial"
  printf 'opensearch %s resolved %s\n' "$OPENSEARCH_VERSION" "$(date -u +%FT%TZ)" >"$DIST_MARKER"
  say "resolved $(find "$DIST_DIR" -name '*.jar' | wc -l) jars ($(du -sh "$DIST_DIR" | cut -f1)) in $(( SECONDS - t0 ))s"
}

write_config() {
  mkdir -p "$CONF_DIR" "$DATA_DIR" "$LOG_DIR" "$TMP_DIR"
  sed -e "s|@HTTP_PORT@|$OPENSEARCH_HTTP_PORT|" -e "s|@TRANSPORT_PORT@|$OPENSEARCH_TRANSPORT_PORT|" \
      -e "s|@NETWORK_HOST@|$OPENSEARCH_NETWORK_HOST|" \
      -e "s|@DATA_DIR@|$DATA_DIR|" -e "s|@LOG_DIR@|$LOG_DIR|" \
      "$TEMPLATES/opensearch.yml.tmpl" >"$CONF_DIR/opensearch.yml.tmp"
  mv "$CONF_DIR/opensearch.yml.tmp" "$CONF_DIR/opensearch.yml"
  cp "$TEMPLATES/log4j2.properties" "$CONF_DIR/log4j2.properties"
}

jvm_options() {
  JVM_OPTS=(
    "-Xms$OPENSEARCH_HEAP" "-Xmx$OPENSEARCH_HEAP" -Xss1m -XX:+UseG1GC
    # No hsperfdata_<user> files in /tmp; temp files (JNA, netty) in our own dir.
    -XX:-UsePerfData "-Djava.io.tmpdir=$TMP_DIR" "-Djna.tmpdir=$TMP_DIR"
    -XX:+HeapDumpOnOutOfMemoryError "-XX:HeapDumpPath=$LOG_DIR" "-XX:ErrorFile=$LOG_DIR/hs_err_%p.log"
    -Dfile.encoding=UTF-8 -Djava.awt.headless=true -Djava.locale.providers=SPI,COMPAT
    # As upstream's jvm.options: no Unsafe-based netty tricks the security manager would refuse.
    -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true -Dio.netty.recycler.maxCapacityPerThread=0
    # Without these, SIGTERM hits an AccessControlException in log4j's shutdown hook and exit takes > 20 s
    # instead of 0.5 s.
    -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true
    "-Dopensearch.path.home=$DIST_DIR" "-Dopensearch.path.conf=$CONF_DIR"
  )
  # OpenSearch refuses to run as root, and it asks JNA whether it is root: without JNA (which only adds the
  # seccomp filter and memory locking, neither needed locally) it cannot tell and starts, with a WARN.
  if (( EUID == 0 )); then JVM_OPTS+=(-Djna.noclasspath=true); fi
}

# ---------------------------------------------------------------- commands
wait_until_ready() {
  local pid=$1
  say "waiting for $BASE_URL/_cluster/health to be green or yellow (timeout ${OPENSEARCH_START_TIMEOUT}s)"
  WAIT_NOTE=health_note wait_daemon OpenSearch "$pid" "$PID_FILE" "$OPENSEARCH_START_TIMEOUT" 1 healthy show_log_tail \
    "not healthy on $BASE_URL"
}

health_note() { echo "health: $(health || echo 'no answer yet')"; }

report_ready() {
  local pid=$1 ver
  ver=$(answered_version || true)
  say "OpenSearch ${ver:-$OPENSEARCH_VERSION} up: pid $pid, $BASE_URL (health $(health || echo '?')), data in $DATA_DIR"
}

cmd_up() {
  take_lock
  local pid t0=$SECONDS
  if pid=$(running_pid); then
    if healthy; then
      report_ready "$pid"
      say "already running; reusing it"
      return 0
    fi
    say "OpenSearch pid $pid is running but not healthy yet; waiting for it"
    wait_until_ready "$pid"
    report_ready "$pid"
    return 0
  fi

  check_java
  local port owner
  for port in "$OPENSEARCH_HTTP_PORT" "$OPENSEARCH_TRANSPORT_PORT"; do
    if port_in_use "$port"; then
      owner=$(port_owner "$port" || true)
      die "port $port is already in use${owner:+ by $owner}, and not by an OpenSearch started from $OPENSEARCH_RUN_DIR. Stop that process, or pick other ports via OPENSEARCH_HTTP_PORT / OPENSEARCH_TRANSPORT_PORT."
    fi
  done

  resolve_dist
  write_config
  jvm_options
  rm -rf "${TMP_DIR:?}"/* 2>/dev/null || true
  mark_log_start "$NODE_LOG" "$OFFSET_FILE"
  printf '\n===== start %s =====\n' "$(date -u +%FT%TZ)" >>"$NODE_LOG"

  say "starting OpenSearch $OPENSEARCH_VERSION (heap $OPENSEARCH_HEAP, HTTP $HOST:$OPENSEARCH_HTTP_PORT, transport $OPENSEARCH_TRANSPORT_PORT)"
  launch_detached "$OPENSEARCH_RUN_DIR" "$PID_FILE" "$NODE_LOG" \
    "$JAVA_BIN" "${JVM_OPTS[@]}" -cp "$DIST_DIR/lib/*" "$OPENSEARCH_MAIN"
  pid=$DAEMON_PID
  wait_until_ready "$pid"
  report_ready "$pid"
  say "started in $(( SECONDS - t0 ))s, RSS $(( $(awk '/VmRSS/ { print $2 }' "/proc/$pid/status") / 1024 )) MiB (logs: scripts/dev/opensearch.sh logs)"
}

# In the foreground, as a container's main process (scripts/dev/opensearch-image.sh): same config and JVM options
# as `up`, no pid file, no readiness wait (the container's healthcheck does that). OPENSEARCH_JAVA_OPTS is
# appended as in the official image (a later -Xmx wins). exec: the JVM is PID 1 and gets the runtime's SIGTERM.
cmd_foreground() {
  check_java --no-curl
  [[ -f $DIST_MARKER ]] || die "the distribution is not in $DIST_DIR (the image carries it resolved)"
  write_config
  jvm_options
  rm -rf "${TMP_DIR:?}"/* 2>/dev/null || true
  say "OpenSearch $OPENSEARCH_VERSION in the foreground (heap $OPENSEARCH_HEAP, $OPENSEARCH_NETWORK_HOST HTTP $OPENSEARCH_HTTP_PORT, transport $OPENSEARCH_TRANSPORT_PORT; data $DATA_DIR)"
  cd "$OPENSEARCH_RUN_DIR"
  # shellcheck disable=SC2086 # OPENSEARCH_JAVA_OPTS is a list of words, as in the official image
  exec "$JAVA_BIN" "${JVM_OPTS[@]}" ${OPENSEARCH_JAVA_OPTS:-} -cp "$DIST_DIR/lib/*" "$OPENSEARCH_MAIN"
}

stop_node() { stop_daemon OpenSearch "$PID_FILE" "$OPENSEARCH_MAIN" "$OPENSEARCH_STOP_TIMEOUT"; }

cmd_down() {
  take_lock
  stop_node
}

cmd_reset() {
  take_lock
  stop_node
  say "wiping $DATA_DIR and $TMP_DIR (jars in $DIST_DIR kept)"
  rm -rf "${DATA_DIR:?}" "${TMP_DIR:?}"
  say "reset done; 'scripts/dev/opensearch.sh up' starts an empty node"
}

cmd_status() {
  local pid="" h="" ver="" rc=3 rss=""
  if pid=$(running_pid 2>/dev/null); then
    h=$(health || true)
    ver=$(answered_version || true)
    rss=$(awk '/VmRSS/ { printf "%d MiB", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null || true)
    if [[ $h == green || $h == yellow ]]; then rc=0; else rc=1; fi
  else
    pid=""
  fi
  case $rc in
    0) echo "OpenSearch:  running (pid $pid, RSS $rss), health $h${ver:+, version $ver}" ;;
    1) echo "OpenSearch:  process running (pid $pid) but health is '${h:-no answer}' (starting, or stuck: see logs)" ;;
    3) echo "OpenSearch:  not running" ;;
  esac
  echo "Version:     $OPENSEARCH_VERSION (pinned in $ARTIFACTS)$([[ -f $DIST_MARKER ]] || echo ', jars not resolved yet')"
  echo "Ports:       HTTP $BASE_URL, transport $HOST:$OPENSEARCH_TRANSPORT_PORT"
  echo "Data dir:    $DATA_DIR ($(du_of "$DATA_DIR"))"
  echo "Log:         $NODE_LOG"
  echo "Home:        $DIST_DIR ($(du_of "$DIST_DIR"))"
  return "$rc"
}

cmd_logs() { show_log "$NODE_LOG" "$@"; }

# Prints the resolved closure ("group:artifact:version destination"), the content of scripts/dev/opensearch/closure.txt.
cmd_closure() {
  [[ -f $DIST_MARKER ]] || die "jars not resolved yet: run 'scripts/dev/opensearch.sh up' first"
  echo "# Runtime closure of scripts/dev/opensearch/artifacts.txt as resolved by scripts/dev/opensearch.sh (mvn dependency:list)."
  echo "# groupId:artifactId:version destination. Regenerate: scripts/dev/opensearch.sh closure >scripts/dev/opensearch/closure.txt"
  local list dest dir
  for list in "$DIST_DIR"/closure-*.txt; do
    dest=${list##*/closure-}; dest=${dest%.txt}; dest=${dest/modules-/modules\/}
    dir=$DIST_DIR/$dest
    # Only the jars that were kept at that destination (a module's copies of lib/ jars were dropped).
    awk '$1 ~ /:jar:/ { split($1, a, ":"); print a[1] ":" a[2] ":" a[4], a[2] "-" a[4] ".jar" }' "$list" \
      | while read -r coord jar; do if [[ -e $dir/$jar ]]; then echo "$coord $dest"; fi; done | sort
  done
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
    closure) cmd_closure ;;
    -h|--help|help) usage ;;
    '')     usage >&2; exit 2 ;;
    *)      printf '==> ERROR: unknown command %s\n\n' "$cmd" >&2; usage >&2; exit 2 ;;
  esac
}

main "$@"
