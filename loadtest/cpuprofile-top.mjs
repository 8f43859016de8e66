#!/usr/bin/env node
// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by package, so the largest
// costs of the service under load show without a browser.
//
//   node loadtest/cpuprofile-top.mjs CPU.*.cpuprofile [top=25]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node loadtest/cpuprofile-top.mjs FILE.cpuprofile [top]\n');
  process.exit(64);
}
const top = Number(topArg ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));

// Self time per node from the sample timeline.
const self = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i + 1] ?? 0;
  self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt);
}
const total = [...self.values()].reduce((a, b) => a + b, 0);

function pkgOf(url) {
  if (!url) return '(native/V8)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.includes('/dist/')) return `ephemera ${url.slice(url.indexOf('/dist/') + 1)}`;
  return url;
}

const fnSelf = new Map();
const pkgSelf = new Map();
for (const [id, t] of self) {
  const n = byId.get(id);
  const cf = n.callFrame;
  const name = cf.functionName || '(anonymous)';
  const key = `${name}  ${pkgOf(cf.url)}${cf.url && !cf.url.startsWith('node:') ? `:${cf.lineNumber + 1}` : ''}`;
  fnSelf.set(key, (fnSelf.get(key) ?? 0) + t);
  const pkg = ['(garbage collector)', '(idle)', '(program)'].includes(name) ? name : pkgOf(cf.url);
  pkgSelf.set(pkg, (pkgSelf.get(pkg) ?? 0) + t);
}

// Inclusive time of every node (self + descendants), then summed per package "entry": the first frame of a
// package below a frame of another package, so e.g. all the work done inside cassandra-driver counts once.
const inclusive = new Map();
function incl(id) {
  if (inclusive.has(id)) return inclusive.get(id);
  const n = byId.get(id);
  let t = self.get(id) ?? 0;
  for (const c of n.children ?? []) t += incl(c);
  inclusive.set(id, t);
  return t;
}
for (const n of prof.nodes) incl(n.id);

const pct = (t) => `${((100 * t) / total).toFixed(1).padStart(5)} %`;
const busy = total - (pkgSelf.get('(idle)') ?? 0);
process.stdout.write(`profile ${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy `
  + `(${((100 * busy) / total).toFixed(0)} %)\n\nself time by package\n`);
for (const [k, t] of [...pkgSelf].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(t)}  ${k}\n`);
process.stdout.write('\nself time by function\n');
for (const [k, t] of [...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(t)}  ${k}\n`);

// Inclusive time of a few frames that answer "where does a request's CPU go".
const probes = [
  ['koa-bodyparser / raw-body (parse JSON body)', (cf) => /node_modules\/(co-body|raw-body|koa-bodyparser)\//.test(cf.url)],
  ['zod (validation)', (cf) => /node_modules\/zod\//.test(cf.url)],
  ['prom-client (metrics)', (cf) => /node_modules\/prom-client\//.test(cf.url)],
  ['pino (logging)', (cf) => /node_modules\/pino/.test(cf.url)],
  ['cassandra-driver (all)', (cf) => /node_modules\/cassandra-driver\//.test(cf.url)],
  ['koa + @koa/router', (cf) => /node_modules\/(koa|@koa\/router|koa-compose)\//.test(cf.url)],
  ['node:_http_* (HTTP server)', (cf) => /^node:_http_/.test(cf.url)],
  ['node:net / stream / tls', (cf) => /^node:(net|internal\/streams|stream)/.test(cf.url)],
  ['crypto.randomUUID (request ids)', (cf) => cf.functionName === 'randomUUID'],
  ['Readable.from (list streaming)', (cf) => cf.functionName === 'from' && /streams/.test(cf.url)],
];
process.stdout.write('\ninclusive time of entries into (outermost frame only)\n');
for (const [label, match] of probes) {
  let t = 0;
  const walk = (id, inside) => {
    const n = byId.get(id);
    const m = match(n.callFrame);
    if (m && !inside) t += inclusive.get(id);
    for (const c of n.children ?? []) walk(c, inside || m);
  };
  walk(prof.nodes[0].id, false);
  process.stdout.write(`  ${pct(t)}  ${label}\n`);
}
