/**
 * The raw side of `make bench-cpu`: the data layer (MessageService over its stores: the same prepared CQL
 * through the same driver as the service) driven in this process at a fixed rate, open model, with the
 * vegeta mix's shape (Zipf users, seeded ids for gets). Its CPU per operation is this process's. The chat
 * endpoints' raw side (bench-cpu-raw-chats.ts) shares the parts and the pacing loop.
 */
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Db } from '../../src/storage/cassandra.js';
import { WriterLease } from '../../src/ids/writer-lease.js';
import { inboxStores } from '../../src/inbox/stores.js';
import { MessageService } from '../../src/inbox/message-service.js';
import { createChats, type Chats } from '../../src/chats/module.js';
import { cassandraSettings, chatsSettings, inboxSettings, searchSettings } from '../../src/settings.js';
import { createSearch } from '../../src/search/search.js';
import type { MessageSearcher } from '../../src/search/message-searcher.js';
import { durationSeconds } from '../vegeta/config.js';
import { zipfSampler } from '../vegeta/zipf.js';
import { cpuSeconds } from './measure.js';
import { sleep } from '../../src/async.js';

/** Percent of creates and of gets; the rest are lists. */
export interface Mix { create: number; get: number }

/** The data layer the raw side drives: both products over one driver, and the searcher. */
export interface RawParts { service: MessageService; chats: Chats; searcher: MessageSearcher }
let parts: RawParts | null = null;
let close: () => Promise<void> = async () => {};
/** Releases the raw side's lease and driver (no-op when it never ran). */
export const closeRaw = () => close();
export async function rawParts(): Promise<RawParts> {
  if (parts) return parts;
  const config = loadConfig();
  const log = createLogger('warn', 'bench-raw');
  const db = new Db(cassandraSettings(config), log);
  await db.connect();
  const lease = new WriterLease(db, log, config.WRITER_LEASE_TTL_MS, config.POD_NAME);
  await lease.start();
  close = () => lease.stop().finally(() => db.shutdown());
  parts = {
    service: new MessageService(inboxStores(db), lease, inboxSettings(config), log),
    chats: createChats(db, chatsSettings(config), log),
    searcher: createSearch(searchSettings(config), log).searcher,
  };
  return parts;
}

const q = (s: number[], p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? NaN;

export async function rawRun(mix: Mix, rate: number, duration: string, cassandraPid: number | null) {
  const svc = (await rawParts()).service;
  const prefix = `raw${Date.now().toString(36)}`;
  const rank = zipfSampler(10_000, 1);
  const text = () => `raw benchmark message ${'x'.repeat(20 + Math.floor(Math.random() * 120))}`;
  const ids: number[] = [];
  for (let i = 0; i < 300; i += 16) {
    await Promise.all(Array.from({ length: 16 }, (_, k) => svc.create({ username: `${prefix}-user-${1 + i + k}`, text: `seed ${i + k}`, timeout: 3600 })
      .then((id) => { ids.push(id); })));
  }
  const op = async (): Promise<void> => {
    const u = Math.random() * 100;
    const user = `${prefix}-user-${rank()}`;
    if (u < mix.create) { await svc.create({ username: user, text: text(), timeout: 60 }); return; }
    if (u < mix.create + mix.get) { await svc.get(ids[Math.floor(Math.random() * ids.length)]!); return; }
    for await (const batch of svc.consume(user)) void batch;
  };

  return pacedRun(op, rate, duration, { cassandra: cassandraPid, opensearch: null });
}

/** Processes whose CPU is counted (net of their idle rate over the 2 s before), null when not measured. */
export interface Measured { cassandra: number | null; opensearch: number | null }

/**
 * Runs `op` at `rate` per second for `duration` (open model: started on schedule whatever is in flight) and
 * returns this process's CPU per operation, the measured processes' (net of idle), latency and failures.
 */
export async function pacedRun(op: () => Promise<void>, rate: number, duration: string, pids: Measured) {
  const idleOf = async (pid: number | null) => {
    if (!pid) return 0;
    const c0 = cpuSeconds(pid);
    await sleep(2000);
    return (cpuSeconds(pid) - c0) / 2;
  };
  const [idle, osIdle] = await Promise.all([idleOf(pids.cassandra), idleOf(pids.opensearch)]);
  const cassandraPid = pids.cassandra;
  const seconds = durationSeconds(duration);
  const ms: number[] = [];
  let failed = 0;
  let sent = 0;
  const pending = new Set<Promise<void>>();
  const cas0 = cassandraPid ? cpuSeconds(cassandraPid) : 0;
  const os0 = pids.opensearch ? cpuSeconds(pids.opensearch) : 0;
  const me0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    for (; sent < due; sent++) {
      const s = performance.now();
      const p = op().then(() => { ms.push(performance.now() - s); }, () => { failed++; }).finally(() => pending.delete(p));
      pending.add(p);
    }
    await sleep(5);
  }
  await Promise.all(pending);
  const wall = (performance.now() - t0) / 1000;
  const me = process.cpuUsage(me0);
  const cas = cassandraPid ? cpuSeconds(cassandraPid) - cas0 : 0;
  const osUsed = pids.opensearch ? cpuSeconds(pids.opensearch) - os0 : 0;
  const r3 = (v: number) => Math.round(v * 1000) / 1000;
  ms.sort((a, b) => a - b);
  return {
    process_ms: r3((me.user + me.system) / 1000 / sent), cassandra_ms: cassandraPid ? r3((Math.max(0, cas - idle * wall) * 1000) / sent) : null,
    opensearch_ms: pids.opensearch ? r3((Math.max(0, osUsed - osIdle * wall) * 1000) / sent) : null,
    vegeta_ms: 0, generator_ms: 0, cassandra_idle_cores: r3(idle), rps: Math.round((sent / wall) * 100) / 100,
    failed_rate: sent ? failed / sent : 1, p50: Math.round(q(ms, 0.5) * 100) / 100, p99: Math.round(q(ms, 0.99) * 100) / 100,
  };
}
