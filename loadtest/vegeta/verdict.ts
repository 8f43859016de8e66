/**
 * The run's digest (the flat JSON that `make bench` and loadtest/bench/perf-chart.mjs read; keys as the k6 summary
 * had them) and its thresholds: failed requests, p95, p99, the generator kept the rate, every check passed.
 */
import type { LoadConfig } from './config.js';
import type { Collected } from './results.js';

/** vegeta's own report (`vegeta report -type=json`), the fields read here. */
export interface VegetaReport {
  requests: number; rate: number; throughput: number; success: number; duration: number; wait: number;
  latencies: Record<string, number>; status_codes: Record<string, number>; errors: string[];
}

export interface Threshold { name: string; expr: string; value: number; ok: boolean }

const r2 = (v: number) => Math.round(v * 100) / 100;

/** Latency statistics in ms under the names the k6 summaries used (nearest-rank percentiles). */
export function latencyStats(samples: number[]): Record<string, number> {
  const s = Float64Array.from(samples).sort();
  const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]! : NaN);
  const avg = s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
  return {
    avg: r2(avg), min: r2(q(0)), med: r2(q(0.5)), 'p(90)': r2(q(0.9)), 'p(95)': r2(q(0.95)), 'p(99)': r2(q(0.99)),
    max: r2(s.length ? s[s.length - 1]! : NaN), count: s.length,
  };
}

export function thresholds(cfg: LoadConfig, c: Collected, report: VegetaReport): Threshold[] {
  const lat = latencyStats(c.all);
  const failedRate = c.all.length ? c.failed / c.all.length : 1;
  const expected = cfg.rate * cfg.durationS;
  const t: Threshold[] = [
    { name: 'failed requests', expr: `rate < ${cfg.maxFailed}`, value: Math.round(failedRate * 1e6) / 1e6, ok: failedRate < cfg.maxFailed },
    { name: 'latency p95', expr: `< ${cfg.p95} ms`, value: lat['p(95)']!, ok: lat['p(95)']! < cfg.p95 },
    { name: 'latency p99', expr: `< ${cfg.p99} ms`, value: lat['p(99)']!, ok: lat['p(99)']! < cfg.p99 },
    // vegeta sends late rather than dropping: when it (or this generator) falls behind, its achieved send rate
    // over the run drops under the requested one. k6 showed the same as dropped iterations.
    {
      name: 'generator kept the rate', expr: `sent >= ${cfg.minRateRatio} x ${cfg.rate} req/s`,
      value: r2(report.rate), ok: report.rate >= cfg.rate * cfg.minRateRatio,
    },
    {
      name: 'requests sent', expr: `>= ${cfg.minRateRatio} x ${expected}`,
      value: c.all.length, ok: c.all.length >= expected * cfg.minRateRatio && c.starved === 0,
    },
  ];
  if (c.checks.size) {
    const fails = [...c.checks.values()].reduce((a, k) => a + k.fails, 0);
    t.push({ name: 'checks', expr: 'every response check passed', value: fails, ok: fails === 0 });
  }
  return t;
}

export function digest(cfg: LoadConfig, c: Collected, report: VegetaReport, cpu: Record<string, number | null>) {
  const seconds = Number.isFinite(c.lastMs - c.firstMs) ? (c.lastMs - c.firstMs) / 1000 : 0;
  const perSecond = (n: number) => r2(n / (seconds || cfg.durationS));
  const endpoints = Object.fromEntries(Object.entries(c.byEndpoint)
    .map(([ep, v]) => [ep, { count: v.length, rps: perSecond(v.length), ms: latencyStats(v) }]));
  const t = thresholds(cfg, c, report);
  return {
    meta: {
      name: cfg.scenario, generator: 'vegeta', base_url: cfg.baseUrl, rate: cfg.rate, duration: cfg.duration,
      duration_s: cfg.durationS, users: cfg.users, zipf_s: cfg.zipfS, seeded_ids: cfg.seedIds,
      mix_pct: { create: cfg.pctCreate, get: cfg.pctGet, list: 100 - cfg.pctCreate - cfg.pctGet },
      thresholds_ms: { p95: cfg.p95, p99: cfg.p99 }, started: new Date(c.firstMs).toISOString(),
    },
    duration_s: r2(seconds),
    requests: c.all.length,
    // Achieved: successful responses per second including the wait for the last ones (vegeta's throughput).
    rps: r2(report.throughput),
    send_rate: r2(report.rate),
    failed_rate: c.all.length ? c.failed / c.all.length : 1,
    latency_ms: latencyStats(c.all),
    endpoints,
    status_codes: c.statusCodes,
    errors: c.errors,
    checks: [...c.checks].map(([name, k]) => ({ name, ...k })),
    cpu,
    thresholds: t,
    passed: t.every((x) => x.ok),
    vegeta: report,
  };
}

export type Digest = ReturnType<typeof digest>;
