#!/usr/bin/env node
// Draws the CPU-per-request chart of docs/performance.md from a `make bench-cpu` JSON result
// (loadtest/bench/bench-cpu.ts): one group per endpoint, one stacked bar per side (service, bare handler, raw
// data layer, and base when an A/B ran), stacked by process: the measured process, Cassandra (net of idle) and
// OpenSearch (net of idle). Plain SVG, no dependencies.
//
//   node loadtest/bench/cpu-chart.mjs [--out FILE.svg] [bench-cpu.json]
//
// Without a file it takes the newest loadtest/results/bench-cpu-*.json.
import { readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const args = process.argv.slice(2);
let out = 'loadtest/charts/cpu-per-request.svg';
let file = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out') out = args[++i];
  else file = args[i];
}
if (!file) {
  const dir = 'loadtest/results';
  const found = readdirSync(dir).filter((f) => /^bench-cpu-.*\.json$/.test(f)).map((f) => path.join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!found.length) { process.stderr.write('cpu-chart: no loadtest/results/bench-cpu-*.json; run make bench-cpu\n'); process.exit(1); }
  file = found[0];
}
const d = JSON.parse(readFileSync(file, 'utf8'));
const endpoints = Object.keys(d.summary);
const sides = [...new Set(endpoints.flatMap((e) => Object.keys(d.summary[e])))];
const parts = [['process_ms', 'process (service / bare / raw)', '#4e79a7'], ['cassandra_ms', 'Cassandra (net)', '#f28e2b'],
  ['opensearch_ms', 'OpenSearch (net)', '#59a14f']];
const total = (s) => parts.reduce((sum, [k]) => sum + (s?.[k] ?? 0), 0);
const max = Math.max(...endpoints.flatMap((e) => sides.map((s) => total(d.summary[e][s]))));
const top = Math.ceil(max * 4) / 4;

const W = 980, H = 420, L = 60, R = 20, T = 50, B = 90;
const groupW = (W - L - R) / endpoints.length;
const barW = Math.min(34, (groupW - 16) / sides.length);
const y = (v) => T + (H - T - B) * (1 - v / top);
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const svg = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
  `<rect width="${W}" height="${H}" fill="white"/>`,
  `<text x="${L}" y="20" font-size="14" font-weight="bold">CPU ms per request at ${d.rate} req/s (${esc(d.duration)}, median of ${d.rounds} round(s)), ${esc(d.machine?.cpus)} × ${esc(d.machine?.model)}</text>`,
  `<text x="${L}" y="38" fill="#555">${esc(path.basename(file))}; bars per endpoint: ${sides.join(', ')}</text>`];
for (let v = 0; v <= top + 1e-9; v += 0.25) {
  svg.push(`<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
    `<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(2)}</text>`);
}
endpoints.forEach((ep, gi) => {
  const gx = L + gi * groupW + (groupW - barW * sides.length) / 2;
  sides.forEach((side, si) => {
    const s = d.summary[ep][side];
    if (!s) return;
    let acc = 0;
    const x = gx + si * barW;
    for (const [k, , colour] of parts) {
      const v = s[k] ?? 0;
      if (v <= 0) continue;
      svg.push(`<rect x="${x + 2}" y="${y(acc + v)}" width="${barW - 4}" height="${y(acc) - y(acc + v)}" fill="${colour}"><title>${esc(`${ep} ${side} ${k} ${v}`)}</title></rect>`);
      acc += v;
    }
    svg.push(`<text x="${x + barW / 2}" y="${y(acc) - 4}" text-anchor="middle" font-size="10">${acc.toFixed(2)}</text>`,
      `<text x="${x + barW / 2}" y="${H - B + 14}" text-anchor="end" font-size="10" transform="rotate(-45 ${x + barW / 2} ${H - B + 14})">${esc(side)}</text>`);
  });
  svg.push(`<text x="${L + gi * groupW + groupW / 2}" y="${H - B + 56}" text-anchor="middle" font-weight="bold">${esc(ep)}</text>`);
});
parts.forEach(([, label, colour], i) => {
  svg.push(`<rect x="${L + i * 230}" y="${H - 18}" width="12" height="12" fill="${colour}"/>`, `<text x="${L + i * 230 + 18}" y="${H - 8}">${esc(label)}</text>`);
});
svg.push('</svg>');
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, svg.join('\n') + '\n');
process.stdout.write(`cpu-chart: ${out} from ${file}\n`);
