// @ts-check
// Shared pieces of the Ephemera k6 scripts: configuration from the environment, the user population with
// Zipf-like popularity, the three API calls with their checks, and the request mix.
import http from 'k6/http';
import { check, fail } from 'k6';
import { Trend } from 'k6/metrics';

const env = (name, dflt) => (__ENV[name] === undefined || __ENV[name] === '' ? dflt : __ENV[name]);
const num = (name, dflt) => {
  const v = Number(env(name, dflt));
  if (!Number.isFinite(v)) fail(`${name} must be a number, got "${__ENV[name]}"`);
  return v;
};

/**
 * Everything a run can be told through `-e NAME=value` (or the process environment with --include-system-env-vars).
 * @param {{ RATE?: number, DURATION?: string, CHECK?: string }} [defaults]
 */
export function loadConfig(defaults = {}) {
  const d = { RATE: 1000, DURATION: '60s', ...defaults };
  const cfg = {
    baseUrl: env('BASE_URL', 'http://127.0.0.1:8080').replace(/\/+$/, ''),
    rate: num('RATE', d.RATE),
    duration: env('DURATION', d.DURATION),
    users: num('USERS', 10000),
    zipfS: num('ZIPF_S', 1.0),
    // The mix, in percent of iterations: POST /chat, GET /chat/:id, GET /chats/:username.
    pctCreate: num('PCT_CREATE', 50),
    pctGet: num('PCT_GET', 30),
    p95: num('P95_MS', 25),
    p99: num('P99_MS', 50),
    // Optional per-endpoint p99 bound; unset = reported, not enforced.
    endpointP99: env('ENDPOINT_P99_MS', ''),
    maxFailed: num('MAX_FAILED_RATE', 0.001),
    checkShapes: env('CHECK', d.CHECK ?? '0') === '1',
    prefix: env('USER_PREFIX', 'lt'),
  };
  // VUs allocated up front: enough for every request of 100 ms; starting VUs mid-run is slow and shows up as
  // dropped iterations that say more about k6 than about the service.
  cfg.preVUs = num('PRE_VUS', Math.ceil(cfg.rate / 10) + 20);
  cfg.maxVUs = Math.max(cfg.preVUs, num('MAX_VUS', Math.ceil(cfg.rate / 4) + 50));
  return cfg;
}

export const latency = {
  create: new Trend('latency_create', true),
  get: new Trend('latency_get', true),
  list: new Trend('latency_list', true),
};

/**
 * System tags kept on every sample: not `url` (unique per message id: every new tag set costs the load
 * generator memory and CPU), nor ip/proto/tls tags nobody reads here. `name` carries the route template.
 */
export const SYSTEM_TAGS = ['status', 'method', 'name', 'group', 'check', 'error', 'error_code', 'expected_response', 'scenario'];

/** Trend statistics shown and exported: p(99) is the headline number. */
export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'];

export function thresholds(cfg, extra = {}) {
  // `phase:load` is the tag every scenario carries: setup()'s seeding requests are not judged.
  const t = {
    'http_req_failed{phase:load}': [`rate<${cfg.maxFailed}`],
    'http_req_duration{phase:load}': [`p(95)<${cfg.p95}`, `p(99)<${cfg.p99}`],
    dropped_iterations: ['count==0'],
    ...extra,
  };
  if (cfg.endpointP99 !== '') {
    for (const ep of Object.keys(latency)) t[`latency_${ep}`] = [`p(99)<${Number(cfg.endpointP99)}`];
  }
  return t;
}

// ---- users: rank r (1..N) is chosen with probability proportional to 1 / r^s -------------------------------

let cdf = null;
function buildCdf(n, s) {
  const c = new Float64Array(n);
  let acc = 0;
  for (let r = 1; r <= n; r++) { acc += 1 / Math.pow(r, s); c[r - 1] = acc; }
  for (let i = 0; i < n; i++) c[i] /= acc;
  return c;
}

/** A user rank from the Zipf(s) distribution over cfg.users (inverse CDF by binary search). */
export function zipfRank(cfg) {
  if (cdf === null) cdf = buildCdf(cfg.users, cfg.zipfS);
  const u = Math.random();
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid] < u) lo = mid + 1; else hi = mid;
  }
  return lo + 1;
}

export const username = (cfg, rank) => `${cfg.prefix}-user-${rank}`;

// ---- message bodies ------------------------------------------------------------------------------------------

const WORDS = ('the quick brown fox jumps over lazy dog meet me at noon see you soon ok thanks lunch call later '
  + 'café naïve über 漢字 🙂 ship it done tomorrow review please ping').split(' ');

function randomText() {
  const n = 3 + Math.floor(Math.random() * 30); // ~15-200 bytes
  const w = [];
  for (let i = 0; i < n; i++) w.push(WORDS[Math.floor(Math.random() * WORDS.length)]);
  return w.join(' ');
}

// Bodies are made from texts drawn once per VU and already JSON-encoded: building and stringifying a fresh
// object per request costs the load generator more CPU than the request itself saves on the wire.
const TEXT_POOL = 512;
const encodedTexts = [];
function someEncodedText() {
  if (encodedTexts.length < TEXT_POOL) encodedTexts.push(JSON.stringify(randomText()));
  return encodedTexts[Math.floor(Math.random() * encodedTexts.length)];
}

/** Mostly the default timeout (60 s), some short ones that expire during a run, some long. */
function randomTimeout() {
  const u = Math.random();
  if (u < 0.6) return undefined;
  if (u < 0.75) return 10;
  if (u < 0.95) return 300;
  return 3600;
}

// ---- the calls -----------------------------------------------------------------------------------------------

const JSON_HEADERS = { 'Content-Type': 'application/json' };
const ID_RING = 256;
/** Ids this VU created lately (k6 VUs share no memory; each keeps its own ring). */
const recentIds = [];
let ringPos = 0;
let seedIds = [];

export function setSeedIds(ids) { seedIds = ids || []; }

function rememberId(id) {
  if (recentIds.length < ID_RING) recentIds.push(id);
  else { recentIds[ringPos] = id; ringPos = (ringPos + 1) % ID_RING; }
}

function someRecentId() {
  const pool = recentIds.length ? recentIds : seedIds;
  if (!pool.length) return null;
  return pool[Math.floor(Math.random() * pool.length)];
}

function json(res) {
  try { return res.json(); } catch (_) { return undefined; }
}

export function createMessage(cfg, user, text, timeout = randomTimeout()) {
  const encoded = text === undefined ? someEncodedText() : JSON.stringify(text);
  const body = `{"username":${JSON.stringify(user)},"text":${encoded}${timeout === undefined ? '' : `,"timeout":${timeout}`}}`;
  const res = http.post(`${cfg.baseUrl}/chat`, body,
    { headers: JSON_HEADERS, responseType: 'text', tags: { name: 'POST /chat', endpoint: 'create' } });
  latency.create.add(res.timings.duration);
  const b = res.status === 201 ? json(res) : undefined;
  if (cfg.checkShapes) {
    check(res, {
      'POST /chat: 201': (r) => r.status === 201,
      'POST /chat: {id: positive integer}': () => b !== undefined && Number.isSafeInteger(b.id) && b.id > 0,
    });
  }
  if (b && Number.isSafeInteger(b.id)) { rememberId(b.id); return b.id; }
  return null;
}

/** `withBody`: keep the response body (checks, callers that read it); otherwise k6 discards it unread. */
export function getMessage(cfg, id, withBody = cfg.checkShapes) {
  const res = http.get(`${cfg.baseUrl}/chat/${id}`,
    { responseType: withBody ? 'text' : 'none', tags: { name: 'GET /chat/:id', endpoint: 'get' } });
  latency.get.add(res.timings.duration);
  if (cfg.checkShapes) {
    const b = json(res);
    check(res, {
      'GET /chat/:id: 200': (r) => r.status === 200,
      'GET /chat/:id: {username, text, expiration_date}': () => b !== undefined && typeof b.username === 'string'
        && typeof b.text === 'string' && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(b.expiration_date),
    });
  }
  return res;
}

export function listMessages(cfg, user, withBody = cfg.checkShapes) {
  const res = http.get(`${cfg.baseUrl}/chats/${encodeURIComponent(user)}`,
    { responseType: withBody ? 'text' : 'none', tags: { name: 'GET /chats/:username', endpoint: 'list' } });
  latency.list.add(res.timings.duration);
  const b = withBody && res.status === 200 ? json(res) : undefined;
  if (cfg.checkShapes) {
    check(res, {
      'GET /chats/:username: 200': (r) => r.status === 200,
      'GET /chats/:username: [{id, text}]': () => Array.isArray(b)
        && b.every((m) => Number.isSafeInteger(m.id) && typeof m.text === 'string' && Object.keys(m).length === 2),
    });
  }
  return Array.isArray(b) ? b : null;
}

/** One iteration of the mix: one request, chosen by the configured percentages. */
export function mixIteration(cfg) {
  const u = Math.random() * 100;
  if (u < cfg.pctCreate) {
    createMessage(cfg, username(cfg, zipfRank(cfg)));
  } else if (u < cfg.pctCreate + cfg.pctGet) {
    const id = someRecentId();
    if (id === null) createMessage(cfg, username(cfg, zipfRank(cfg)));
    else getMessage(cfg, id);
  } else {
    listMessages(cfg, username(cfg, zipfRank(cfg)));
  }
}

/** A few messages made before the run, so GET /chat/:id has ids from the first iteration on. */
export function seed(cfg, n = 64) {
  /** @type {import('k6/http').ObjectBatchRequest[]} */
  const reqs = [];
  for (let i = 0; i < n; i++) {
    reqs.push({
      method: 'POST', url: `${cfg.baseUrl}/chat`,
      body: JSON.stringify({ username: username(cfg, zipfRank(cfg)), text: `seed ${i}`, timeout: 3600 }),
      params: { headers: JSON_HEADERS, responseType: 'text', tags: { name: 'setup', endpoint: 'setup' } },
    });
  }
  const ids = [];
  for (const res of http.batch(reqs)) {
    const b = res.status === 201 ? json(res) : undefined;
    if (!b || !Number.isSafeInteger(b.id)) {
      fail(`setup: POST ${cfg.baseUrl}/chat answered ${res.status} ${String(res.body).slice(0, 200)}`
        + ' (is the service running? BASE_URL)');
    }
    ids.push(b.id);
  }
  return ids;
}

/** '90s', '2m', '1m30s', '500ms' -> seconds. */
export function durationSeconds(text) {
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let m;
  while ((m = re.exec(text)) !== null) total += Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2]];
  return total;
}

/** Where handleSummary writes its JSON: SUMMARY_JSON, else loadtest/results/<SUMMARY_NAME or name>.json. */
export function summaryPath(name) {
  return env('SUMMARY_JSON', `loadtest/results/${env('SUMMARY_NAME', name)}.json`);
}
