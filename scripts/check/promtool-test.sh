#!/usr/bin/env bash
# Check the chart's Prometheus rules and Grafana dashboard with promtool.
#
#   scripts/check/promtool-test.sh
#
# 1. promtool check rules charts/ephemera/files/alerts.yaml
# 2. promtool test rules test/promtool/alerts.test.yaml   (a firing and a silent case per alert)
# 3. every PromQL expression of the dashboard, the rules and the autoscaler (scripts/check/promql-exprs.mjs)
#    parses: they are written as recording rules to a temporary file and checked by promtool;
#    metric names must come from the interface spec; no Grafana variable is left unreplaced.
#
# promtool comes from Debian's `prometheus` package (2.42); if it is missing and we are root it is
# installed with apt-get, without letting the package start a Prometheus server.
# Exits non-zero on the first failure.
set -euo pipefail

cd "$(dirname "$0")/../.."
RULES=charts/ephemera/files/alerts.yaml
TESTS=test/promtool/alerts.test.yaml
DASHBOARD=charts/ephemera/files/dashboard.json

log() { printf '==> promtool-test: %s\n' "$*"; }
die() { printf '==> promtool-test: FAILED: %s\n' "$*" >&2; exit 1; }

if [[ ${1:-} == --help || ${1:-} == -h ]]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 0
fi

# Install Debian's prometheus package (promtool + prometheus) without starting its service.
install_prometheus() {
  if [[ $(id -u) -ne 0 ]]; then
    die "promtool not found; install Debian's prometheus package (sudo apt-get install prometheus)"
  fi
  log "promtool not found: installing Debian's prometheus package (apt-get, about 15 s)"
  local policy=/usr/sbin/policy-rc.d made_policy=0 start=$SECONDS
  if [[ ! -e $policy ]]; then
    # exit 101 = "action forbidden": invoke-rc.d will not start the service from postinst
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
  fi
  local rc=0
  { [[ -n $(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null) ]] ||
      DEBIAN_FRONTEND=noninteractive apt-get update -qq; } &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null ||
    rc=$?
  if ((rc != 0)); then
    log "apt-get install failed; refreshing package lists and retrying"
    rc=0
    DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null ||
      rc=$?
  fi
  ((made_policy)) && rm -f "$policy"
  ((rc == 0)) || die "apt-get install prometheus failed (exit $rc)"
  # On a machine where systemd does run, make sure the package's service is not left serving :9090.
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
  log "installed $(promtool --version 2>&1 | head -1) in $((SECONDS - start))s"
}

command -v promtool >/dev/null || install_prometheus
command -v node >/dev/null || die "node is required (scripts/check/promql-exprs.mjs)"
log "using $(command -v promtool): $(promtool --version 2>&1 | head -1)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

log "promtool check rules $RULES"
promtool check rules "$RULES" | tee "$tmp/check.out"
rule_count=$(sed -n 's/.*SUCCESS: \([0-9]*\) rules found.*/\1/p' "$tmp/check.out")

log "promtool test rules $TESTS"
promtool test rules "$TESTS"

# Every alert must have a unit test that fires and one that stays silent.
log "every alert has a firing and a silent unit test"
node - "$RULES" "$TESTS" <<'EOF'
const { readFileSync } = require('node:fs');
const [rulesFile, testsFile] = process.argv.slice(2);
const alerts = new Set([...readFileSync(rulesFile, 'utf8').matchAll(/^\s*-\s+alert:\s*(\S+)/gm)].map((m) => m[1]));
const firing = new Set();
const silent = new Set();
// alert_rule_test entries: "- alertname: X" followed (before the next entry) by exp_alerts: [] or a list.
const text = readFileSync(testsFile, 'utf8');
for (const m of text.matchAll(/-\s+alertname:\s*(\S+)[\s\S]*?exp_alerts:\s*(\[\])?/g)) {
  (m[2] ? silent : firing).add(m[1]);
}
const missing = [];
for (const a of alerts) {
  if (!firing.has(a)) missing.push(`${a}: no firing test`);
  if (!silent.has(a)) missing.push(`${a}: no silent test`);
}
if (missing.length) {
  console.error(missing.join('\n'));
  process.exit(1);
}
console.log(`  ${alerts.size} alerts, each with firing and silent tests`);
EOF

log "dashboard JSON is valid and every expression uses known metrics"
node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$DASHBOARD" ||
  die "$DASHBOARD is not valid JSON"
node scripts/check/promql-exprs.mjs --check

log "every PromQL expression (dashboard, rules, autoscaler) parses"
node scripts/check/promql-exprs.mjs >"$tmp/exprs.json"
node scripts/check/promql-exprs.mjs --rules-file >"$tmp/exprcheck.rules.json"
promtool check rules "$tmp/exprcheck.rules.json" >"$tmp/exprcheck.out" 2>&1 || {
  cat "$tmp/exprcheck.out" >&2
  die "some expression does not parse (see above; rule ephemera_exprcheck_N is entry N of scripts/check/promql-exprs.mjs)"
}
node -e '
  const l = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const by = {};
  for (const e of l) by[e.source] = (by[e.source] || 0) + 1;
  console.log("  " + l.length + " expressions parse: " + Object.entries(by).map(([k, v]) => v + " from " + k).join(", "));
' "$tmp/exprs.json"

# The hand-written YAML reader in promql-exprs.mjs must see every rule promtool sees.
seen=$(node -e '
  const l = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(l.filter((e) => e.kind === "record" || e.kind === "alert").length);
' "$tmp/exprs.json")
[[ $seen == "$rule_count" ]] ||
  die "scripts/check/promql-exprs.mjs read $seen rules from $RULES but promtool found $rule_count"

log "all green"
