#!/usr/bin/env bash
# A/B of Cassandra JVM settings under the validation load: for each setting (collector:heap), a private node on
# 127.0.0.9 (own home, storage and JMX ports; the shared node on 127.0.0.1 is never touched) is started, the mix
# runs at RATE for WARMUP (JIT, not counted) and then for DURATION (counted), and the node is stopped. Settings are
# interleaved over ROUNDS so drift hits all of them. Cassandra's CPU per request (net of idle), the service's,
# latency and errors come from the load test's JSON summary; GC pauses from the node's gc.log.
#
#   SETTINGS="g1:1G parallel:1G g1:2G" ROUNDS=2 RATE=1000 DURATION=60s WARMUP=30s loadtest/bench/cassandra-ab.sh
#
# Needs dist/ (npx tsc -p tsconfig.build.json) and the cached Cassandra jars (scripts/dev/cassandra.sh up once).
# Results: loadtest/results/cassandra-ab-<setting>-r<round>.json and a table on stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ ${1:-} == --help || ${1:-} == -h ]] && { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }

SETTINGS=${SETTINGS:-g1:1G parallel:1G g1:2G}
ROUNDS=${ROUNDS:-2}
RATE=${RATE:-1000}
DURATION=${DURATION:-60s}
WARMUP=${WARMUP:-30s}
say() { printf '==> cassandra-ab: %s\n' "$*" >&2; }

export CASSANDRA_LISTEN_ADDRESS=127.0.0.9 CASSANDRA_STORAGE_PORT=7010 CASSANDRA_JMX_PORT=7299
export CASSANDRA_HOME_DIR=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}/perf-cassandra
export CASSANDRA_CONTACT_POINTS=127.0.0.9:9042 LOADTEST_HOT_KEYSPACE=perf_hot LOADTEST_COLD_KEYSPACE=perf_cold
export LOADTEST_PORT=${LOADTEST_PORT:-18088} LOG_LEVEL=${LOG_LEVEL:-info}
trap 'scripts/dev/cassandra.sh down >/dev/null 2>&1 || true' EXIT
scripts/dev/cassandra.sh down >/dev/null 2>&1 || true

files=()
for round in $(seq 1 "$ROUNDS"); do
  for setting in $SETTINGS; do
    gc=${setting%%:*} heap=${setting#*:}
    say "round $round: $gc, heap $heap (load $(cut -d' ' -f1 /proc/loadavg))"
    CASSANDRA_GC=$gc CASSANDRA_HEAP=$heap scripts/dev/cassandra.sh up >/dev/null
    gclog=$CASSANDRA_HOME_DIR/logs/gc.log
    RATE=$RATE DURATION=$WARMUP SUMMARY_JSON=/tmp/cassandra-ab-warmup.json loadtest/run.sh mix >/dev/null 2>&1 || true
    before=$(grep -c 'Pause' "$gclog" 2>/dev/null || true)
    out=loadtest/results/cassandra-ab-$gc-$heap-r$round.json
    code=0
    RATE=$RATE DURATION=$DURATION SUMMARY_JSON=$out loadtest/run.sh mix >/dev/null 2>&1 || code=$?
    (( code == 0 || code == 99 )) || { say "load test failed ($code)"; exit 1; }
    # gc.log lines of this interval: "Pause Young ... 12.345ms"; the sum and the count go into the summary.
    node -e '
      const fs = require("fs"); const [file, log, skip, gc, heap, round] = process.argv.slice(1);
      const lines = fs.readFileSync(log, "utf8").split("\n").filter((l) => /Pause/.test(l)).slice(Number(skip));
      const ms = lines.map((l) => Number((/([\d.]+)ms\s*$/.exec(l) ?? [])[1] ?? 0));
      const d = JSON.parse(fs.readFileSync(file, "utf8"));
      d.cassandra_ab = { gc, heap, round: Number(round), gc_pauses: ms.length, gc_pause_ms: Math.round(ms.reduce((a, b) => a + b, 0)),
        gc_max_pause_ms: Math.round(Math.max(0, ...ms) * 10) / 10 };
      fs.writeFileSync(file, JSON.stringify(d, null, 2) + "\n");' "$out" "$gclog" "${before:-0}" "$gc" "$heap" "$round"
    files+=("$out")
    scripts/dev/cassandra.sh down >/dev/null
  done
done

node -e '
  const fs = require("fs");
  console.log("setting        round  cassandra ms/req  service ms/req  p50 ms  p99 ms  failed  gc pauses (total ms, max ms)");
  for (const f of process.argv.slice(1)) {
    const d = JSON.parse(fs.readFileSync(f, "utf8")); const a = d.cassandra_ab;
    console.log(`${(a.gc + ":" + a.heap).padEnd(14)} ${String(a.round).padEnd(6)} ${String(d.cpu.cassandra_net_ms_per_req).padEnd(17)} `
      + `${String(d.cpu.service_ms_per_req).padEnd(15)} ${String(d.latency_ms.med).padEnd(7)} ${String(d.latency_ms["p(99)"]).padEnd(7)} `
      + `${String(d.failed_rate).padEnd(7)} ${a.gc_pauses} (${a.gc_pause_ms}, ${a.gc_max_pause_ms})`);
  }' "${files[@]}"
