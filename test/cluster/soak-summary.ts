import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { historyFile } from './cluster-control.js';

/**
 * `make test-cluster-soak`: prints one line per run of each scenario (argv[4], space-separated; node-kill by
 * default) recorded in results.jsonl since the soak began (argv[2], an ISO time), then the totals. Exit 1 when a
 * run is missing (argv[3] runs per scenario) or any anomaly was counted. The error columns are the windows each
 * scenario records: at the fault (`burst`), and after the node's return (`rejoin`, node-kill) or wake-up (`wake`,
 * node-pause); quorum-loss answers 503 on purpose while two nodes are down, so it has no error window.
 */
interface Burst { errors: number; requests: number; recoverMs: number }
interface Result {
  scenario: string; at: string; acknowledged: number; lost: number; duplicated: number; unexpected: number;
  numbering: { numbered: number; duplicates: number } | null; edits: { acknowledged: number; lost: number } | null;
  burst?: Burst; rejoin?: Burst; wake?: Burst; restartMs?: number; healMs?: number; unreadable: number;
  search?: { queries: number; contradictions: string[]; passes: number; caughtUpMs: number };
}

const since = process.argv[2] ?? '1970-01-01T00:00:00Z';
const expected = Number(process.argv[3] ?? 0);
const scenarios = (process.argv[4] ?? 'node-kill').split(/\s+/).filter(Boolean);
const file = join(dirname(historyFile('node-kill')), '..', 'results.jsonl');
const all = (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [])
  .map((l) => JSON.parse(l) as Result).filter((r) => r.at >= since);

const window = (b: Burst | undefined) => (b === undefined ? '-'
  : `${b.errors} (${b.requests === 0 ? '0' : ((100 * b.errors) / b.requests).toFixed(2)} %) ${(b.recoverMs / 1000).toFixed(1)} s`);
let anomalies = 0;
let missing = 0;
for (const scenario of scenarios) {
  const runs = all.filter((r) => r.scenario === scenario);
  console.log(`\n${scenario}`);
  console.log('run  acked  numbers  edits  lost  dup  numbers-twice  edits-lost  unread  search-wrong  fault: errors (%) recover  return: errors (%) recover  back');
  runs.forEach((r, i) => {
    const twice = r.numbering?.duplicates ?? 0;
    const editsLost = r.edits?.lost ?? 0;
    const searchWrong = r.search?.contradictions.length;
    anomalies += r.lost + r.duplicated + r.unexpected + twice + editsLost + r.unreadable + (searchWrong ?? 0);
    const back = r.restartMs ?? r.healMs;
    console.log([`${i + 1}`.padStart(3), `${r.acknowledged}`.padStart(6), `${r.numbering?.numbered ?? 0}`.padStart(8),
      `${r.edits?.acknowledged ?? 0}`.padStart(6), `${r.lost}`.padStart(5), `${r.duplicated}`.padStart(4),
      `${twice}`.padStart(14), `${editsLost}`.padStart(11), `${r.unreadable}`.padStart(7),
      (searchWrong === undefined ? '-' : `${searchWrong}/${r.search!.queries}`).padStart(13),
      window(r.burst).padStart(31), window(r.rejoin ?? r.wake).padStart(28),
      (back === undefined ? '-' : `${(back / 1000).toFixed(0)} s`).padStart(6)].join(' '));
  });
  if (runs.length < expected) missing += expected - runs.length;
  console.log(`${scenario}: ${runs.length} run(s) recorded${expected ? ` of ${expected}` : ''}`);
}
const clean = missing === 0 && anomalies === 0;
console.log(`\nanomalies ${anomalies}, runs missing ${missing}: ${clean ? 'clean' : 'NOT clean'}`);
process.exit(clean ? 0 : 1);
