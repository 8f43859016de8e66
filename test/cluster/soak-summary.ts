import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { historyFile } from './cluster-control.js';

/**
 * `make test-cluster-soak`: prints one line per node-kill run recorded in results.jsonl since the soak began
 * (argv[2], an ISO time), then the totals. Exit 1 when a run is missing or any anomaly was counted.
 */
interface Burst { errors: number; requests: number; recoverMs: number }
interface Result {
  scenario: string; at: string; acknowledged: number; lost: number; duplicated: number; unexpected: number;
  numbering: { duplicates: number } | null; edits: { acknowledged: number; lost: number } | null;
  burst: Burst; rejoin: Burst; restartMs: number; unreadable: number;
}

const since = process.argv[2] ?? '1970-01-01T00:00:00Z';
const expected = Number(process.argv[3] ?? 0);
const file = join(dirname(historyFile('node-kill')), '..', 'results.jsonl');
const runs = (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [])
  .map((l) => JSON.parse(l) as Result)
  .filter((r) => r.scenario === 'node-kill' && r.at >= since);

const pct = (b: Burst) => (b.requests === 0 ? '0' : ((100 * b.errors) / b.requests).toFixed(2));
console.log('run  acked  edits  lost  dup  numbers-twice  edits-lost  unread  kill: errors (%) recover  rejoin: errors (%) recover  restart');
let anomalies = 0;
runs.forEach((r, i) => {
  const twice = r.numbering?.duplicates ?? 0;
  const editsLost = r.edits?.lost ?? 0;
  anomalies += r.lost + r.duplicated + r.unexpected + twice + editsLost + r.unreadable;
  console.log([`${i + 1}`.padStart(3), `${r.acknowledged}`.padStart(6), `${r.edits?.acknowledged ?? 0}`.padStart(6),
    `${r.lost}`.padStart(5), `${r.duplicated}`.padStart(4), `${twice}`.padStart(14), `${editsLost}`.padStart(11),
    `${r.unreadable}`.padStart(7), `${r.burst.errors} (${pct(r.burst)} %) ${(r.burst.recoverMs / 1000).toFixed(1)} s`.padStart(30),
    `${r.rejoin.errors} (${pct(r.rejoin)} %) ${(r.rejoin.recoverMs / 1000).toFixed(1)} s`.padStart(27),
    `${(r.restartMs / 1000).toFixed(0)} s`.padStart(8)].join(' '));
});
const clean = runs.length >= expected && anomalies === 0;
console.log(`${runs.length} run(s) recorded${expected ? ` of ${expected}` : ''}; anomalies ${anomalies}: ${clean ? 'clean' : 'NOT clean'}`);
process.exit(clean ? 0 : 1);
