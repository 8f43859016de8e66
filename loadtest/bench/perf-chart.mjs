#!/usr/bin/env node
// Draws the performance chart of docs/performance.md from bench JSON results (loadtest/bench/bench.ts):
//   left:  open-loop steps of the mix (vegeta; k6 in older files), achieved throughput (req/s) against latency p50 / p95 / p99 (log scale), one
//          colour per result file (e.g. one worker vs. two), with the p99 and p95 bounds;
//   right: closed-loop maximum throughput per endpoint, raw data layer against the service.
//
//   node loadtest/bench/perf-chart.mjs [--out FILE.svg] [bench.json ...]
//
// Without files it takes the newest loadtest/results/bench-*.json. Plain SVG, no dependencies.
import { readFileSync, readdirSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const args = process.argv.slice(2);
let out = 'loadtest/charts/throughput-latency.svg';
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out') out = args[++i];
  else files.push(args[i]);
}
if (files.length === 0) {
  const dir = 'loadtest/results';
  const found = readdirSync(dir).filter((f) => /^bench-.*\.json$/.test(f) && !/-(k6|vegeta)-/.test(f))
    .map((f) => path.join(dir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!found.length) { process.stderr.write('perf-chart: no loadtest/results/bench-*.json; run make bench\n'); process.exit(1); }
  files.push(found[0]);
}
const runs = files.map((f) => ({ file: f, ...JSON.parse(readFileSync(f, 'utf8')) }));

const W = 980;
/** The open-loop steps of a bench file: `load_steps` (vegeta), `k6_steps` in files made before the switch. */
const stepsOf = (r) => r.load_steps ?? r.k6_steps ?? [];
const generators = [...new Set(runs.map((r) => (r.load_steps ? 'vegeta' : 'k6')))].join(' / ');
/** Mean CPU stall (share of time some task waited for a CPU) over the open-loop steps: how busy the machine was. */
const stallOf = (r) => {
  const v = stepsOf(r).map((s) => s.cpu_stall).filter((x) => typeof x === 'number');
  return v.length ? `${Math.round((100 * v.reduce((a, b) => a + b, 0)) / v.length)} %` : 'n/a';
};
const H = 500;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
const DASH = { p50: '', p95: '6 3', p99: '2 3' };
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const parts = [];
const text = (x, y, s, o = {}) => parts.push(`<text x="${x}" y="${y}" font-size="${o.size ?? 11}"${o.anchor ? ` text-anchor="${o.anchor}"` : ''}${o.weight ? ` font-weight="${o.weight}"` : ''}${o.fill ? ` fill="${o.fill}"` : ''}${o.rotate ? ` transform="rotate(${o.rotate} ${x} ${y})"` : ''}>${esc(s)}</text>`);
const line = (x1, y1, x2, y2, o = {}) => parts.push(`<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${o.stroke ?? '#ccc'}" stroke-width="${o.width ?? 1}"${o.dash ? ` stroke-dasharray="${o.dash}"` : ''}/>`);

// ---- left panel: throughput vs latency ---------------------------------------------------------------------
const L = { x: 70, y: 50, w: 470, h: 300 };
const steps = runs.flatMap(stepsOf);
const maxX = Math.max(500, ...steps.map((s) => s.rps), ...steps.map((s) => s.target_rps)) * 1.05;
const lat = steps.flatMap((s) => [s.latency_ms?.med, s.latency_ms?.['p(95)'], s.latency_ms?.['p(99)']]).filter((v) => v > 0);
const minY = 1;
const maxY = Math.max(100, ...lat) * 1.3;
const sx = (v) => L.x + (v / maxX) * L.w;
const sy = (v) => L.y + L.h - (Math.log10(Math.max(v, minY)) - Math.log10(minY)) / (Math.log10(maxY) - Math.log10(minY)) * L.h;

text(L.x + L.w / 2, 24, `Mix at constant arrival rates (${generators}): latency vs achieved throughput`, { anchor: 'middle', size: 13, weight: 'bold' });
for (const v of [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000].filter((v) => v <= maxY)) {
  line(L.x, sy(v), L.x + L.w, sy(v), { stroke: '#eee' });
  text(L.x - 6, sy(v) + 4, v >= 1000 ? `${v / 1000}s` : `${v}ms`, { anchor: 'end', size: 10 });
}
const xStep = maxX > 3000 ? 1000 : maxX > 1200 ? 500 : 250;
for (let v = 0; v <= maxX; v += xStep) {
  line(sx(v), L.y, sx(v), L.y + L.h, { stroke: '#eee' });
  text(sx(v), L.y + L.h + 16, v, { anchor: 'middle', size: 10 });
}
line(L.x, L.y + L.h, L.x + L.w, L.y + L.h, { stroke: '#333' });
line(L.x, L.y, L.x, L.y + L.h, { stroke: '#333' });
text(L.x + L.w / 2, L.y + L.h + 34, 'achieved requests/s (mix: 50 % POST /chat, 30 % GET /chat/:id, 20 % GET /chats/:username)', { anchor: 'middle', size: 10 });
text(18, L.y + L.h / 2, 'latency (log scale)', { anchor: 'middle', size: 10, rotate: -90 });
const bounds = (runs[0] && stepsOf(runs[0])[0]) ? [[50, 'p99 bound 50 ms'], [25, 'p95 bound 25 ms']] : [];
for (const [v, label] of bounds) {
  line(L.x, sy(v), L.x + L.w, sy(v), { stroke: '#f0a000', dash: '4 4' });
  text(L.x + L.w - 4, sy(v) - 4, label, { anchor: 'end', size: 9, fill: '#b07000' });
}
runs.forEach((r, i) => {
  const c = COLORS[i % COLORS.length];
  const pts = stepsOf(r).slice().sort((a, b) => a.target_rps - b.target_rps);
  for (const [key, stat] of [['p50', 'med'], ['p95', 'p(95)'], ['p99', 'p(99)']]) {
    const xy = pts.filter((s) => s.latency_ms?.[stat] > 0).map((s) => `${sx(s.rps).toFixed(1)},${sy(s.latency_ms[stat]).toFixed(1)}`);
    if (xy.length) parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" ${DASH[key] ? `stroke-dasharray="${DASH[key]}"` : ''} points="${xy.join(' ')}"/>`);
  }
  for (const s of pts) {
    const y = sy(s.latency_ms?.['p(99)'] ?? minY);
    parts.push(`<circle cx="${sx(s.rps).toFixed(1)}" cy="${y.toFixed(1)}" r="3.5" fill="${s.passed ? c : '#fff'}" stroke="${c}" stroke-width="1.5"><title>target ${s.target_rps} req/s: achieved ${s.rps}, p99 ${s.latency_ms?.['p(99)']} ms, ${s.passed ? 'all thresholds met' : 'a threshold failed'}</title></circle>`);
  }
});
// legend, under the x axis
let ly = L.y + L.h + 56;
runs.forEach((r, i) => {
  const c = COLORS[i % COLORS.length];
  const label = `${r.setup?.workers > 1 ? `${r.setup.workers} workers (cluster)` : '1 process'} · ${r.date?.slice(0, 16).replace('T', ' ') ?? ''} · `
    + `sustainable ${r.sustainable_rps ?? '?'} req/s · CPU stall ${stallOf(r)}`;
  line(L.x, ly, L.x + 20, ly, { stroke: c, width: 3 });
  text(L.x + 26, ly + 4, label, { size: 10 });
  ly += 15;
});
let lx = L.x;
for (const [key, d] of Object.entries(DASH)) {
  parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 20}" y2="${ly}" stroke="#555" stroke-width="2"${d ? ` stroke-dasharray="${d}"` : ''}/>`);
  text(lx + 24, ly + 4, key, { size: 10 });
  lx += 60;
}
text(lx + 10, ly + 4, '● all thresholds met   ○ a threshold failed (p99 dot)', { size: 10 });

// ---- right panel: closed loop, raw vs service per endpoint ---------------------------------------------------
const R = { x: 620, y: 50, w: 330, h: 300 };
text(R.x + R.w / 2, 24, 'Closed-loop maximum: raw data layer vs service', { anchor: 'middle', size: 13, weight: 'bold' });
const eps = ['create', 'get', 'list', 'mix'];
const bars = runs.map((r) => eps.map((e) => ({ raw: r.closed_loop?.[e]?.raw?.rps ?? 0, svc: r.closed_loop?.[e]?.service?.rps ?? 0, ratio: r.closed_loop?.[e]?.ratio })));
const maxB = Math.max(100, ...bars.flat().flatMap((b) => [b.raw, b.svc])) * 1.15;
const by = (v) => R.y + R.h - (v / maxB) * R.h;
const tick = maxB > 8000 ? 2000 : maxB > 4000 ? 1000 : 500;
for (let v = 0; v <= maxB; v += tick) {
  line(R.x, by(v), R.x + R.w, by(v), { stroke: '#eee' });
  text(R.x - 6, by(v) + 4, v, { anchor: 'end', size: 10 });
}
line(R.x, R.y + R.h, R.x + R.w, R.y + R.h, { stroke: '#333' });
const groupW = R.w / eps.length;
const barW = Math.min(18, (groupW - 10) / (2 * runs.length));
eps.forEach((e, gi) => {
  const gx = R.x + gi * groupW + (groupW - barW * 2 * runs.length) / 2;
  runs.forEach((r, ri) => {
    const c = COLORS[ri % COLORS.length];
    const b = bars[ri][gi];
    const x0 = gx + ri * barW * 2;
    parts.push(`<rect x="${x0.toFixed(1)}" y="${by(b.raw).toFixed(1)}" width="${barW - 1}" height="${(R.y + R.h - by(b.raw)).toFixed(1)}" fill="#bbb"><title>raw ${e}: ${b.raw} ops/s</title></rect>`);
    parts.push(`<rect x="${(x0 + barW).toFixed(1)}" y="${by(b.svc).toFixed(1)}" width="${barW - 1}" height="${(R.y + R.h - by(b.svc)).toFixed(1)}" fill="${c}"><title>service ${e}: ${b.svc} req/s</title></rect>`);
    if (b.ratio !== undefined) text(x0 + barW, by(Math.max(b.raw, b.svc)) - 4, `${Math.round(b.ratio * 100)}%`, { anchor: 'middle', size: 9 });
  });
  text(R.x + gi * groupW + groupW / 2, R.y + R.h + 16, e, { anchor: 'middle', size: 11 });
});
text(R.x + R.w / 2, R.y + R.h + 34, 'grey: raw data layer in-process (no HTTP), same CQL', { anchor: 'middle', size: 10 });
text(R.x + R.w / 2, R.y + R.h + 48, `colour: service over HTTP, ${runs[0]?.setup?.concurrency ?? '?'} in flight; label = service / raw`, { anchor: 'middle', size: 10 });
text(R.x - 45, R.y + R.h / 2, 'operations/s', { anchor: 'middle', size: 10, rotate: -90 });

const m = runs[0]?.machine ?? {};
text(W / 2, H - 12, `${m.cpus ?? '?'} × ${m.cpu_model ?? '?'}, ${m.mem_gib ?? '?'} GiB, node ${m.node ?? '?'}; Cassandra, service and load generator on the same machine. Source: ${runs.map((r) => path.basename(r.file)).join(', ')}`, { anchor: 'middle', size: 9, fill: '#555' });

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">
<rect width="${W}" height="${H}" fill="#fff"/>
${parts.join('\n')}
</svg>
`;
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, svg);
process.stdout.write(`perf-chart: wrote ${out} from ${files.join(', ')}\n`);
