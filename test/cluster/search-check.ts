import { spawnCli } from '../support/processes.js';
import { CLUSTER_ENV, sleep } from './cluster-control.js';
import type { HistoryEvent } from './history.js';

/** What the search index says against the final rows, once the change-log indexer caught up. */
export interface SearchCheck {
  /** Distinct queries asked: every body the load sent (creates and edits), current or superseded. */
  queries: number;
  /** Queries whose answer differs from the final rows, e.g. `"e1-40": got [12] want []` (at most 20 kept). */
  contradictions: string[];
  /** `ephemera index --once` passes run until the answers agreed (or the deadline passed). */
  passes: number;
  /** From the first pass to agreement (or to the deadline). */
  caughtUpMs: number;
}

/**
 * Issue 27's search check: after a ring scenario (the load stopped, the history complete), `ephemera index --once`
 * passes apply the change log to the index (the ring's services run with the fast path off, so everything the
 * index holds came through the durable path, faults included) until, for every body the load sent, the search
 * answers exactly the messages whose final body contains it: an acknowledged create or edit missing from the
 * index, a superseded body still found, or a message found under a body it no longer has all count. A query is a
 * case-insensitive substring, so "n0-12" also expects "n0-123"'s message: the expected set is computed the same way.
 */
export async function checkSearch(url: string, path: string, events: HistoryEvent[], deadlineMs = 180_000): Promise<SearchCheck> {
  const queries = [...new Set(events.filter((e) => e.type === 'invoke' && (e.f === 'number' || e.f === 'edit') && e.key.startsWith(path))
    .map((e) => String(e.value)))];
  const final = await finalBodies(url, path, events);
  const want = (q: string) => [...final].filter(([, body]) => body.toLowerCase().includes(q.toLowerCase()))
    .map(([n]) => n).sort((a, b) => a - b);
  const t0 = Date.now();
  let passes = 0;
  let open = queries;
  let contradictions: string[] = [];
  for (;;) {
    passes++;
    const { exited, logs } = await spawnCli(['index', '--once'], CLUSTER_ENV);
    const code = await exited;
    if (code !== 0 && Date.now() - t0 > deadlineMs) throw new Error(`index --once exited ${code}: ${logs.slice(-5).join('\n')}`);
    contradictions = [];
    const still: string[] = [];
    await inPool(open, 8, async (q) => {
      const got = await search(url, path, q);
      const expected = want(q);
      if (got === null || got.join() !== expected.join()) {
        still.push(q);
        contradictions.push(`"${q}": got ${got === null ? 'no answer' : `[${got.join(',')}]`} want [${expected.join(',')}]`);
      }
    });
    // Once every open query agreed, all of them are asked again: a later pass must not have undone an earlier one.
    if (still.length === 0 && open !== queries) { open = queries; continue; }
    if (still.length === 0 || Date.now() - t0 > deadlineMs) break;
    open = still;
    await sleep(2_000);
  }
  return { queries: queries.length, contradictions: contradictions.slice(0, 20), passes, caughtUpMs: Date.now() - t0 };
}

/**
 * number -> body of every message of the chat, read through the service: all pages, until the list reaches the
 * highest acknowledged number (a page ends before a young hole, so a fresh list may stop short for a few seconds).
 */
async function finalBodies(url: string, path: string, events: HistoryEvent[]): Promise<Map<number, string>> {
  const highest = Math.max(0, ...events.filter((e) => e.f === 'number' && e.type === 'ok').map((e) => Number(e.value)));
  for (let attempt = 0; ; attempt++) {
    const bodies = new Map<number, string>();
    let next: string | null = `${url}${path}?limit=500`;
    while (next !== null) {
      const res: Response = await fetch(next);
      if (res.status !== 200) throw new Error(`GET ${next}: ${res.status} ${await res.text()}`);
      for (const m of await res.json() as Array<{ number: number; body: string }>) bodies.set(m.number, m.body);
      const link = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
      next = link ? new URL(link, url).toString() : null;
    }
    if (Math.max(0, ...bodies.keys()) >= highest || attempt >= 30) return bodies;
    await sleep(1_000);
  }
}

/** The numbers a search answers, all pages; null when it could not answer (503 while OpenSearch is busy). */
async function search(url: string, path: string, q: string): Promise<number[] | null> {
  const numbers: number[] = [];
  let next: string | null = `${url}${path}/search?q=${encodeURIComponent(q)}&limit=500`;
  while (next !== null) {
    const res: Response = await fetch(next);
    if (res.status !== 200) return null;
    numbers.push(...(await res.json() as Array<{ number: number }>).map((m) => m.number));
    const link = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
    next = link ? new URL(link, url).toString() : null;
  }
  return numbers.sort((a, b) => a - b);
}

async function inPool<T>(items: T[], width: number, run: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (i < items.length) await run(items[i++]!);
  }));
}
