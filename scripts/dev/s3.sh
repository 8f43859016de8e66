#!/usr/bin/env bash
# Local S3 server for Ephemera's message bodies: versitygw (Apache-2.0, built from the Go module proxy by
# tools.sh) serving a posix directory, with the bucket the service uses by default.
#
# Usage: scripts/dev/s3.sh up|down|status|reset|logs|--help
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EPHEMERA_CACHE=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}
S3_RUN_DIR=${S3_RUN_DIR:-$EPHEMERA_CACHE/s3-run}
S3_PORT=${S3_PORT:-9700}
S3_BUCKET=${S3_BUCKET:-ephemera}
# The development keys src/bodies/settings.ts falls back to when no credentials are configured.
S3_ACCESS_KEY_ID=${S3_ACCESS_KEY_ID:-ephemera-dev}
S3_SECRET_ACCESS_KEY=${S3_SECRET_ACCESS_KEY:-ephemera-dev-secret}
S3_START_TIMEOUT=${S3_START_TIMEOUT:-30}
readonly HOST=127.0.0.1
DATA_DIR=$S3_RUN_DIR/data
PID_FILE=$S3_RUN_DIR/versitygw.pid
LOG_FILE=$S3_RUN_DIR/versitygw.log
LOCK_FILE=$S3_RUN_DIR/.lock
BIN=$EPHEMERA_CACHE/bin/versitygw

OFFSET_FILE=$S3_RUN_DIR/.log-offset
readonly PATTERN=versitygw

# shellcheck source=lib/common.sh
source "$REPO_ROOT/scripts/dev/lib/common.sh"
# shellcheck source=lib/daemon.sh
source "$REPO_ROOT/scripts/dev/lib/daemon.sh"

usage() {
  cat <<EOF2
Usage: scripts/dev/s3.sh <command>

Runs versitygw on $HOST:$S3_PORT (posix backend in $DATA_DIR) with bucket '$S3_BUCKET'.

Commands:
  up       build versitygw once (scripts/dev/tools.sh versitygw, ~3 CPU-minutes), start it in the background,
           wait for /health, create the bucket. Reuses a healthy running server.
  down     stop it (SIGTERM, SIGKILL after 10 s)
  status   pid, health, port, data size (exit 0: running and healthy, 3: stopped)
  reset    down, then wipe the data
  logs     the server log ('logs -f' follows)

Environment (defaults): EPHEMERA_CACHE ($EPHEMERA_CACHE), S3_RUN_DIR ($S3_RUN_DIR), S3_PORT ($S3_PORT),
S3_BUCKET ($S3_BUCKET), S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY (the development keys), S3_START_TIMEOUT (s).
EOF2
}

running_pid() { daemon_pid "$PID_FILE" "$PATTERN" versitygw; }

healthy() { curl -fsS -m 3 "http://$HOST:$S3_PORT/health" >/dev/null 2>&1; }

up() {
  "$REPO_ROOT/scripts/dev/tools.sh" versitygw
  hold_lock "$S3_RUN_DIR" "$LOCK_FILE" 120 "s3.sh"
  # A plain directory under the posix root is a bucket (../shared/notes/object-storage.md).
  mkdir -p "$DATA_DIR/$S3_BUCKET"
  local pid
  if pid=$(running_pid) && healthy; then
    say "versitygw already running (pid $pid) on $HOST:$S3_PORT, bucket $S3_BUCKET"
    return 0
  fi
  if healthy; then die "something else answers on $HOST:$S3_PORT; set S3_PORT"; fi
  say "starting versitygw on $HOST:$S3_PORT (data $DATA_DIR)"
  mark_log_start "$LOG_FILE" "$OFFSET_FILE"
  ROOT_ACCESS_KEY=$S3_ACCESS_KEY_ID ROOT_SECRET_KEY=$S3_SECRET_ACCESS_KEY \
    launch_detached "$S3_RUN_DIR" "$PID_FILE" "$LOG_FILE" "$BIN" --port "$HOST:$S3_PORT" --health /health --quiet posix "$DATA_DIR"
  local deadline=$((SECONDS + S3_START_TIMEOUT))
  until healthy; do
    running_pid >/dev/null || { log_since_start "$LOG_FILE" "$OFFSET_FILE" | tail -n 20 >&2; die "versitygw exited at start (log: $LOG_FILE)"; }
    (( SECONDS < deadline )) || die "versitygw not healthy after ${S3_START_TIMEOUT}s (log: $LOG_FILE)"
    sleep 0.2
  done
  say "versitygw ready (pid $DAEMON_PID) on http://$HOST:$S3_PORT, bucket $S3_BUCKET"
}

down() {
  hold_lock "$S3_RUN_DIR" "$LOCK_FILE" 120 "s3.sh"
  stop_daemon versitygw "$PID_FILE" "$PATTERN" 10
}

status() {
  local pid
  if ! pid=$(running_pid); then echo "versitygw: stopped (data $DATA_DIR, $(du_of "$DATA_DIR"))"; return 3; fi
  if healthy; then
    echo "versitygw: running, pid $pid, http://$HOST:$S3_PORT, bucket $S3_BUCKET, data $DATA_DIR ($(du_of "$DATA_DIR"))"
  else
    echo "versitygw: pid $pid not answering on $HOST:$S3_PORT"; return 1
  fi
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  reset) down; rm -rf "$DATA_DIR"; say "data wiped" ;;
  logs) shift; show_log "$LOG_FILE" "$@" ;;
  -h | --help) usage ;;
  *) usage; exit 2 ;;
esac
