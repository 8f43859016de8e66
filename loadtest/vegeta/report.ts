/** The run's short text report: throughput, latency per endpoint, checks, thresholds and the verdict. */
import type { Digest } from './verdict.js';

const ORDER = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'];
const fmtMs = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-'
  : v >= 1000 ? `${(v / 1000).toFixed(2)}s` : v >= 10 ? `${v.toFixed(1)}ms` : `${v.toFixed(2)}ms`);
const pad = (s: unknown, n: number) => String(s).padEnd(n);
const lpad = (s: unknown, n: number) => String(s).padStart(n);

export function textReport(d: Digest, summaryPath: string): string {
  const m = d.meta;
  const lines = ['', `  ephemera load test (vegeta): ${m.name}  (${m.base_url}, target ${m.rate} req/s for ${m.duration})`, ''];
  lines.push(`  requests ........ ${d.requests} in ${d.duration_s.toFixed(1)}s, sent at ${d.send_rate} req/s, ${d.rps} successful/s`);
  lines.push(`  failed .......... ${(d.failed_rate * 100).toFixed(3)}%  status codes ${JSON.stringify(d.status_codes)}`);
  for (const [e, n] of Object.entries(d.errors).slice(0, 5)) lines.push(`  error ........... ${n} × ${e.slice(0, 120)}`);
  const cpu = Object.entries(d.cpu).filter(([, v]) => v !== null).map(([k, v]) => `${k} ${v}`).join(', ');
  if (cpu) lines.push(`  CPU ............. ${cpu}`);
  lines.push('', pad('  latency', 22) + ORDER.map((k) => lpad(k, 10)).join('') + lpad('count', 9) + lpad('req/s', 9));
  const row = (label: string, v: Record<string, number>, rps?: number) => pad(`  ${label}`, 22)
    + ORDER.map((k) => lpad(fmtMs(v[k]), 10)).join('') + lpad(v.count ?? '', 9) + lpad(rps === undefined ? '' : rps.toFixed(1), 9);
  lines.push(row('all requests', d.latency_ms, d.send_rate));
  for (const [ep, e] of Object.entries(d.endpoints)) lines.push(row(ep, e.ms, e.rps));
  if (d.checks.length) {
    lines.push('', '  checks');
    for (const c of d.checks) lines.push(`    ${c.fails ? '✗' : '✓'} ${pad(c.name, 54)} ${c.passes} passed, ${c.fails} failed`);
  }
  lines.push('', '  thresholds');
  for (const t of d.thresholds) lines.push(`    ${t.ok ? '✓' : '✗'} ${pad(t.name, 26)} ${pad(t.expr, 34)} (${t.value})`);
  const failed = d.thresholds.filter((t) => !t.ok).map((t) => `${t.name} ${t.expr}: was ${t.value}`);
  lines.push('', `  result: ${failed.length ? `FAIL: ${failed.join('; ')}` : 'PASS'}`, `  JSON summary: ${summaryPath}`, '');
  return lines.join('\n');
}
