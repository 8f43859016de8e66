// @ts-check
// Smoke: a short, low-rate run that checks every response's status and JSON shape, plus an end-to-end
// round trip per second (create, read back, list once = delivered, list again = gone). Fails (exit 99)
// when a check or threshold fails. A quick "is it up and correct" probe (`make test` runs the vegeta smoke).
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 loadtest/k6/smoke.js      (20 req/s for 10 s; your own k6, see mix.js)
//
// Same knobs as mix.js; latency bounds default to P95_MS=500 and P99_MS=1000 here: the smoke judges
// correctness (every check, < 0.1 % failed, no dropped iterations) and gross slowness, and must not flake on a
// busy CI machine or a service that JIT-warms during its 10 s; mix.js holds the real latency bounds.
import { check, group } from 'k6';
import {
  loadConfig, mixIteration, seed, setSeedIds, thresholds, summaryPath, durationSeconds, createMessage,
  getMessage, listMessages, SUMMARY_TREND_STATS, SYSTEM_TAGS,
} from './lib/ephemera.js';
import { Trend } from 'k6/metrics';
import { makeSummary } from './lib/summary.js';

const cfg = loadConfig({ RATE: 20, DURATION: '10s', CHECK: '1' });
if (__ENV.P95_MS === undefined) cfg.p95 = 500;
if (__ENV.P99_MS === undefined) cfg.p99 = 1000;
const roundtripTrend = new Trend('latency_roundtrip', true);

export const options = {
  scenarios: {
    mix: {
      executor: 'constant-arrival-rate', rate: cfg.rate, timeUnit: '1s', duration: cfg.duration,
      preAllocatedVUs: Math.max(5, cfg.preVUs), maxVUs: Math.max(20, cfg.maxVUs), exec: 'mix',
      tags: { phase: 'load' },
    },
    roundtrip: {
      executor: 'constant-arrival-rate', rate: 1, timeUnit: '1s', duration: cfg.duration,
      preAllocatedVUs: 2, maxVUs: 5, exec: 'roundtrip', tags: { phase: 'load' },
    },
  },
  thresholds: thresholds(cfg, { checks: ['rate==1'] }),
  summaryTrendStats: SUMMARY_TREND_STATS,
  systemTags: SYSTEM_TAGS,
};

export function setup() {
  return { ids: seed(cfg, 8) };
}

let seeded = false;
export function mix(data) {
  if (!seeded) { setSeedIds(data.ids); seeded = true; }
  mixIteration(cfg);
}

/** A user nobody else writes to: what it is sent must come back exactly once. */
export function roundtrip() {
  const user = `${cfg.prefix}-smoke-${__VU}-${__ITER}-${Date.now()}`;
  const text = `round trip ✓ ${__ITER}`;
  const started = Date.now();
  group('round trip', () => {
    const id = createMessage(cfg, user, text, 120);
    if (id === null) { check(null, { 'round trip: created': () => false }); return; }
    const got = getMessage(cfg, id, true);
    /** @type {any} */
    let body;
    try { body = got.json(); } catch (_) { body = undefined; }
    check(body, { 'round trip: GET /chat/:id returns what was sent': (b) => b && b.username === user && b.text === text });
    const first = listMessages(cfg, user, true);
    check(first, { 'round trip: first list delivers it': (l) => Array.isArray(l) && l.length === 1 && l[0].id === id && l[0].text === text });
    const second = listMessages(cfg, user, true);
    check(second, { 'round trip: second list is empty': (l) => Array.isArray(l) && l.length === 0 });
  });
  roundtripTrend.add(Date.now() - started);
}

export const handleSummary = makeSummary(summaryPath('smoke'), {
  name: 'smoke', base_url: cfg.baseUrl, rate: cfg.rate, duration: cfg.duration,
  duration_s: durationSeconds(cfg.duration), users: cfg.users, zipf_s: cfg.zipfS,
  mix_pct: { create: cfg.pctCreate, get: cfg.pctGet, list: 100 - cfg.pctCreate - cfg.pctGet },
  thresholds_ms: { p95: cfg.p95, p99: cfg.p99 }, started: new Date().toISOString(),
});
