#!/usr/bin/env bash
# The lifecycle of one local daemon, shared by cassandra.sh, cluster.sh (through lib/cassandra-node.sh) and
# opensearch.sh: launch detached with a pid file, find the live pid (cleaning a stale file), stop with SIGTERM then
# SIGKILL, hold the script's lock, and read the log of the current start only. What differs per daemon (paths,
# the class on its command line, timeouts, names) comes in as arguments. Sourced after lib/common.sh, never run.

# pid_runs PID PATTERN: PID is a live process whose command line contains PATTERN (without /proc, alive is enough).
pid_runs() {
  local pid=$1 pattern=$2 cmd
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  [[ -r /proc/$pid/cmdline ]] || return 0
  # Read whole, not piped into `grep -q`: grep quits at the first match, the writer of a long command line gets
  # SIGPIPE, and under pipefail a running daemon then looked dead (seen in the cluster suite's restart).
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmd == *"$pattern"* ]]
}

# daemon_pid PID_FILE PATTERN [NAME]: prints the pid in PID_FILE if that process runs PATTERN; otherwise removes
# the stale file (saying so when NAME is given) and returns 1.
daemon_pid() {
  local pid_file=$1 pattern=$2 name=${3:-} pid
  [[ -f $pid_file ]] || return 1
  pid=$(tr -dc '0-9' <"$pid_file" || true)
  if [[ -n $pid ]] && pid_runs "$pid" "$pattern"; then
    printf '%s\n' "$pid"
    return 0
  fi
  [[ -z $name ]] || say "removing stale pid file ($pid_file, pid '${pid:-?}' is not a running $name)"
  rm -f "$pid_file"
  return 1
}

# launch_detached DIR PID_FILE LOG COMMAND...: starts COMMAND in DIR in its own session (setsid + nohup: it
# outlives the calling make and ignores its Ctrl-C and hang-up), output appended to LOG, without our lock on fd 9;
# writes its pid to PID_FILE and sets DAEMON_PID (every step execs, so that pid is the daemon's own).
launch_detached() {
  local dir=$1 pid_file=$2 log=$3
  shift 3
  ( cd "$dir" && exec nohup setsid "$@" </dev/null >>"$log" 2>&1 9>&- ) &
  DAEMON_PID=$!
  echo "$DAEMON_PID" >"$pid_file"
}

# stop_pids TIMEOUT SIGNAL PID...: sends SIGNAL to every PID and waits for all of them; one still running TIMEOUT
# seconds after the signal gets SIGKILL, and one that outlives that by 10 s more is reported and left.
stop_pids() {
  local timeout=$1 signal=$2 t0=$SECONDS pid
  shift 2
  for pid in "$@"; do kill "-$signal" "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    while kill -0 "$pid" 2>/dev/null; do
      if (( SECONDS - t0 >= timeout + 10 )); then warn "pid $pid survived SIGKILL for 10s; leaving it"; break; fi
      if (( SECONDS - t0 >= timeout )); then
        [[ $signal == KILL ]] || warn "pid $pid still running after ${timeout}s; sending SIGKILL"
        signal=KILL
        kill -KILL "$pid" 2>/dev/null || true
      fi
      sleep 0.5
    done
  done
}

# stop_daemon NAME PID_FILE PATTERN TIMEOUT: the `down` of one daemon: SIGTERM, SIGKILL after TIMEOUT seconds,
# the pid file removed; says what it did.
stop_daemon() {
  local name=$1 pid_file=$2 pattern=$3 timeout=$4 pid t0=$SECONDS
  if ! pid=$(daemon_pid "$pid_file" "$pattern" "$name"); then
    say "$name is not running (no live pid in $pid_file)"
    return 0
  fi
  say "stopping $name (pid $pid, SIGTERM)"
  stop_pids "$timeout" TERM "$pid"
  rm -f "$pid_file"
  say "stopped after $(( SECONDS - t0 ))s"
}

# hold_lock DIR LOCK_FILE SECONDS WHO: one start/stop at a time per run dir (flock on fd 9, kept until exit).
hold_lock() {
  local dir=$1 lock_file=$2 seconds=$3 who=$4
  mkdir -p "$dir"
  exec 9>"$lock_file"
  if command -v flock >/dev/null 2>&1; then
    flock -w "$seconds" 9 || die "another $who holds $lock_file for too long"
  fi
}

# mark_log_start LOG OFFSET_FILE: records where this start's lines begin in LOG.
mark_log_start() {
  if [[ -f $1 ]]; then stat -c %s "$1" >"$2"; else echo 0 >"$2"; fi
}

# log_since_start LOG OFFSET_FILE: LOG from the offset of the current start (all of it if it rolled over since).
log_since_start() {
  local log=$1 offset=0
  [[ -f $log ]] || return 0
  [[ -f $2 ]] && offset=$(tr -dc '0-9' <"$2")
  (( $(stat -c %s "$log") >= ${offset:-0} )) || offset=0
  tail -c "+$(( ${offset:-0} + 1 ))" "$log"
}
