// @ts-check
// The request mix at a constant arrival rate: the 1000 requests/s validation of issue 8.
//
//   k6 run -e RATE=1000 -e DURATION=60s -e BASE_URL=http://127.0.0.1:8080 loadtest/k6/mix.js
//
// For people who run their own k6 (this project does not build or fetch it: k6 is AGPL). The project's own
// load tests use vegeta with the same mix and thresholds: loadtest/vegeta/, `make loadtest`. Type-checked
// against @types/k6 by `make k6-typecheck`. Run it from the repository root (k6 does not create
// loadtest/results/: mkdir -p it first).
//
// 50 % POST /chat, 30 % GET /chat/:id of ids created moments before, 20 % GET /chats/:username, over USERS
// users (default 10 000) whose popularity follows Zipf(ZIPF_S = 1): rank r is picked with weight 1/r^s, so the
// top user gets ~10 % of the traffic. Thresholds (k6 exits 99 when one fails): failed requests < 0.1 %,
// p95 < P95_MS (25), p99 < P99_MS (50), no dropped iterations (the service kept up with the arrival rate).
// The JSON summary goes to loadtest/results/<SUMMARY_NAME, default mix-<RATE>rps>.json (or SUMMARY_JSON).
//
// Other knobs: USERS, ZIPF_S, PCT_CREATE, PCT_GET, ENDPOINT_P99_MS, MAX_FAILED_RATE, PRE_VUS, MAX_VUS, CHECK=1
// (also check every response's shape; costs load-generator CPU), USER_PREFIX.
import {
  loadConfig, mixIteration, seed, setSeedIds, thresholds, summaryPath, durationSeconds, SUMMARY_TREND_STATS, SYSTEM_TAGS,
} from './lib/ephemera.js';
import { makeSummary } from './lib/summary.js';

const cfg = loadConfig({ RATE: 1000, DURATION: '60s' });

export const options = {
  scenarios: {
    mix: {
      executor: 'constant-arrival-rate',
      rate: cfg.rate,
      timeUnit: '1s',
      duration: cfg.duration,
      preAllocatedVUs: cfg.preVUs,
      maxVUs: cfg.maxVUs,
      exec: 'mix',
      tags: { phase: 'load' },
    },
  },
  thresholds: thresholds(cfg),
  summaryTrendStats: SUMMARY_TREND_STATS,
  systemTags: SYSTEM_TAGS,
  discardResponseBodies: true, // requests that need a body ask for it (responseType: 'text')
  noConnectionReuse: false,
  setupTimeout: '30s',
};

export function setup() {
  return { ids: seed(cfg) };
}

let seeded = false;
export function mix(data) {
  if (!seeded) { setSeedIds(data.ids); seeded = true; }
  mixIteration(cfg);
}

export const handleSummary = makeSummary(summaryPath(`mix-${cfg.rate}rps`), {
  name: 'mix', base_url: cfg.baseUrl, rate: cfg.rate, duration: cfg.duration,
  duration_s: durationSeconds(cfg.duration), users: cfg.users, zipf_s: cfg.zipfS,
  mix_pct: { create: cfg.pctCreate, get: cfg.pctGet, list: 100 - cfg.pctCreate - cfg.pctGet },
  thresholds_ms: { p95: cfg.p95, p99: cfg.p99 }, started: new Date().toISOString(),
});
