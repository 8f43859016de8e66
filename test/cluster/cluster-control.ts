import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnCli, spawnService, type ServiceProcess } from '../support/processes.js';
import type { HistoryEvent } from './history.js';

const run = promisify(execFile);

/** The ring of scripts/dev/cluster.sh (never 127.0.0.1: that is the shared single node). */
export const ADDRESSES = (process.env.CLUSTER_ADDRESSES ?? '127.0.0.2 127.0.0.3 127.0.0.4').trim().split(/\s+/);

/** Production settings: RF 3 in one datacenter, quorum reads and writes, Paxos in the local datacenter. */
export const CLUSTER_ENV: Record<string, string> = {
  CASSANDRA_CONTACT_POINTS: ADDRESSES.map((a) => `${a}:9042`).join(','),
  CASSANDRA_REPLICATION: 'datacenter1:3',
  CASSANDRA_CONSISTENCY: 'LOCAL_QUORUM',
  CASSANDRA_DEFUNCT_READ_TIMEOUTS: '3',
  CASSANDRA_SERIAL_CONSISTENCY: 'LOCAL_SERIAL',
  CASSANDRA_HOT_KEYSPACE: process.env.CLUSTER_HOT_KEYSPACE ?? 'cluster_hot',
  CASSANDRA_COLD_KEYSPACE: process.env.CLUSTER_COLD_KEYSPACE ?? 'cluster_cold',
  OPENSEARCH_INDEX_PREFIX: 'cluster',
};
/** The service's own limit per request (its default): nothing may hang longer. */
export const REQUEST_TIMEOUT_MS = 5_000;
/**
 * The longest any request may take under any nemesis: the service's storage deadline (REQUEST_TIMEOUT_MS from a
 * request's first statement: src/storage/request-deadline.ts), plus 1.5 s for late timers in the service and in
 * this load generator on a loaded 2-core machine. Before the deadline, settle reads each waited out the driver's
 * 2 s timeout: an edit took 7.8 s with a node frozen, a create 6.5 s with two nodes down (CI, 2026-12-07).
 */
export const HANG_BOUND_MS = REQUEST_TIMEOUT_MS + 1_500;

/** scripts/dev/cluster.sh with its output (start-ups on a loaded 2-core machine take minutes). */
export async function cluster(...args: string[]): Promise<string> {
  const { stdout } = await run('scripts/dev/cluster.sh', args, { timeout: 900_000 });
  return stdout.trim();
}

export async function migrateCluster(): Promise<void> {
  const { logs, exited } = await spawnCli(['migrate'], CLUSTER_ENV);
  const code = await exited;
  if (code !== 0) throw new Error(`migrate exited ${code}: ${logs.join('\n')}`);
}

export async function twoServices(): Promise<[ServiceProcess, ServiceProcess]> {
  await migrateCluster();
  const [a, b] = await Promise.all([spawnService(CLUSTER_ENV), spawnService(CLUSTER_ENV)]);
  return [a, b];
}

export function historyFile(name: string): string {
  const cache = process.env.EPHEMERA_CACHE ?? join(homedir(), '.cache', 'ephemera');
  return join(cache, 'cluster', 'histories', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
}

/** Every acknowledged create read back by id through the service (LOCAL_QUORUM): how many are missing or wrong. */
export async function unreadable(url: string, events: HistoryEvent[]): Promise<number> {
  const texts = new Map<number, string>();
  for (const e of events) if (e.f === 'create' && e.type === 'invoke') texts.set(e.op, String(e.value));
  const acked = events.filter((e) => e.f === 'create' && e.type === 'ok').map((e) => [Number(e.value), texts.get(e.op)!] as const);
  let bad = 0;
  for (let i = 0; i < acked.length; i += 8) {
    await Promise.all(acked.slice(i, i + 8).map(async ([id, text]) => {
      const res = await fetch(`${url}/chat/${id}`);
      const body = await res.json() as { text?: string };
      if (res.status !== 200 || body.text !== text) bad++;
    }));
  }
  return bad;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until a create answers 201 again; the time it took. */
export async function untilServing(url: string, user: string, limitMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const res = await fetch(`${url}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: `${user}-probe`, text: 'probe', timeout: 60 }), signal: AbortSignal.timeout(30_000) }).catch(() => null);
    if (res?.status === 201) return Date.now() - t0;
    if (Date.now() - t0 > limitMs) throw new Error(`no 201 within ${limitMs} ms (last: ${res?.status ?? 'no answer'})`);
    await sleep(500);
  }
}

/** A fresh application with one chat: the path its messages are numbered under. */
export async function newChatPath(url: string): Promise<string> {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
    return await res.json() as { token?: string; number?: number };
  };
  const { token } = await post('/applications', { name: 'cluster' });
  const { number } = await post(`/applications/${token}/chats`, { name: 'numbered' });
  return `/applications/${token}/chats/${number}/messages`;
}
