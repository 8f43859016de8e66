/**
 * What one load-test run is told through the environment (the same names loadtest/k6/ used, so commands and
 * docs carry over). Two scenarios differ only in defaults: `mix` is the 1000 requests/s validation, `smoke` a
 * 20 requests/s correctness probe for `make test` that checks every response's shape.
 */
export type Scenario = 'mix' | 'smoke';
/** What the requests go to: the inbox mix, or one chat-applications endpoint on one hot chat (loadtest/vegeta/chat-targets.ts). */
export const TARGET_KINDS = ['inbox', 'chat-create', 'chat-list', 'chat-search'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export interface LoadConfig {
  scenario: Scenario;
  /** TARGETS: the inbox mix (default) or one chat endpoint; the chat kinds seed SEED_IDS messages into one chat. */
  targets: TargetKind;
  baseUrl: string;
  rate: number;
  duration: string;
  durationS: number;
  users: number;
  zipfS: number;
  /** The mix in percent of requests: POST /chat, GET /chat/:id; the rest is GET /chats/:username. */
  pctCreate: number;
  pctGet: number;
  p95: number;
  p99: number;
  maxFailed: number;
  /** vegeta's achieved send rate must reach this share of RATE ("the generator kept up"). */
  minRateRatio: number;
  checkShapes: boolean;
  prefix: string;
  /** Ids created before the attack; GET /chat/:id reads them (vegeta cannot feed responses back). */
  seedIds: number;
  /** vegeta workers (each one request in flight): initial and maximum. */
  workers: number;
  maxWorkers: number;
  timeout: string;
  summaryPath: string;
}

const DEFAULTS: Record<Scenario, Record<string, string>> = {
  mix: { RATE: '1000', DURATION: '60s', P95_MS: '25', P99_MS: '50', CHECK: '0' },
  // Loose latency bounds: the smoke judges correctness and gross slowness and must not flake on a busy CI
  // machine or a service that JIT-warms during its 10 s; the mix holds the real bounds.
  smoke: { RATE: '20', DURATION: '10s', P95_MS: '500', P99_MS: '1000', CHECK: '1' },
};

/** '90s', '2m', '1m30s', '500ms' -> seconds (vegeta's -duration takes the same text). */
export function durationSeconds(text: string): number {
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) throw new Error(`DURATION must look like 60s, 2m or 1m30s, got "${text}"`);
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(m[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600 } as Record<string, number>)[m[2]!]!;
  }
  return total;
}

export function loadConfig(scenario: Scenario, env: NodeJS.ProcessEnv = process.env): LoadConfig {
  const d = DEFAULTS[scenario];
  const bad: string[] = [];
  const str = (name: string, dflt: string) => (env[name] === undefined || env[name] === '' ? dflt : env[name]!);
  const num = (name: string, dflt: string, ok: (v: number) => boolean = (v) => v > 0) => {
    const v = Number(str(name, dflt));
    if (!Number.isFinite(v) || !ok(v)) bad.push(`${name}="${env[name]}"`);
    return v;
  };
  const rate = num('RATE', d.RATE!);
  const duration = str('DURATION', d.DURATION!);
  let durationS = 0;
  try { durationS = durationSeconds(duration); } catch { bad.push(`DURATION="${duration}"`); }
  const pct = (v: number) => v >= 0 && v <= 100;
  const targets = str('TARGETS', 'inbox') as TargetKind;
  if (!TARGET_KINDS.includes(targets)) bad.push(`TARGETS="${targets}" (one of ${TARGET_KINDS.join(', ')})`);
  if (targets !== 'inbox' && scenario === 'smoke') bad.push('TARGETS: the smoke checks the inbox only');
  const cfg: LoadConfig = {
    scenario,
    targets,
    baseUrl: str('BASE_URL', 'http://127.0.0.1:8080').replace(/\/+$/, ''),
    rate,
    duration,
    durationS,
    users: num('USERS', '10000', Number.isInteger),
    zipfS: num('ZIPF_S', '1'),
    pctCreate: num('PCT_CREATE', '50', pct),
    pctGet: num('PCT_GET', '30', pct),
    p95: num('P95_MS', d.P95_MS!),
    p99: num('P99_MS', d.P99_MS!),
    maxFailed: num('MAX_FAILED_RATE', '0.001', (v) => v >= 0 && v <= 1),
    minRateRatio: num('MIN_RATE_RATIO', '0.99', (v) => v > 0 && v <= 1),
    checkShapes: str('CHECK', d.CHECK!) === '1',
    prefix: str('USER_PREFIX', 'lt'),
    // Enough that each seeded id is read ~10 times in a 60 s run at 1000 req/s (30 % gets), not one hot row.
    seedIds: num('SEED_IDS', String(Math.min(2000, Math.max(64, Math.ceil(rate * 2)))), Number.isInteger),
    // One worker holds one request in flight: RATE/50 covers 20 ms responses from the start; vegeta adds
    // workers up to MAX_WORKERS (RATE/4 + 50, as k6's MAX_VUS was); past that it falls behind the rate.
    workers: num('WORKERS', String(Math.max(10, Math.ceil(rate / 50))), Number.isInteger),
    maxWorkers: num('MAX_WORKERS', String(Math.ceil(rate / 4) + 50), Number.isInteger),
    timeout: str('REQUEST_TIMEOUT', '10s'),
    summaryPath: '',
  };
  if (cfg.pctCreate + cfg.pctGet > 100) bad.push(`PCT_CREATE + PCT_GET = ${cfg.pctCreate + cfg.pctGet} > 100`);
  if (bad.length) throw new Error(`invalid load-test settings: ${bad.join(', ')}`);
  const name = str('SUMMARY_NAME', scenario === 'smoke' ? 'smoke' : `${targets === 'inbox' ? 'mix' : targets}-${rate}rps`);
  cfg.summaryPath = str('SUMMARY_JSON', `loadtest/results/${name}.json`);
  return cfg;
}
