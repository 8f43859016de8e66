#!/usr/bin/env bash
# Helpers shared by the local node scripts (cassandra.sh and cluster.sh through lib/cassandra-node.sh, and
# opensearch.sh): messages, sizes and the `logs` command. Sourced, never run.

say()  { printf '==> %s\n' "$*" >&2; }
warn() { printf '==> WARNING: %s\n' "$*" >&2; }
die()  { printf '==> ERROR: %s\n' "$*" >&2; exit 1; }

# Disk use of a path for status output, "-" when it does not exist yet.
du_of() { if [[ -e $1 ]]; then du -sh "$1" 2>/dev/null | cut -f1; else echo "-"; fi; }

# `logs [-f] [lines]` of one log file: the last lines (100), or follow it.
show_log() {
  local file=$1 follow=0 lines=100 arg
  shift
  for arg in "$@"; do
    case $arg in
      -f|--follow) follow=1 ;;
      ''|*[!0-9]*) die "logs: unknown argument '$arg' (use -f and/or a line count)" ;;
      *) lines=$arg ;;
    esac
  done
  [[ -f $file ]] || die "no log yet at $file"
  if (( follow )); then exec tail -n "$lines" -F "$file"; fi
  tail -n "$lines" "$file"
}
