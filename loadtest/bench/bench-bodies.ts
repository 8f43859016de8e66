/**
 * Message bodies, s3 vs cassandra (docs/file-storage.md): create, edit and read p50/p99 and the service's CPU per
 * request (and versitygw's for s3), for 1 KiB, 64 KiB and 4 MiB bodies, in one run. Each backend is a service
 * process of its own (dist/cli.js serve) on the test keyspaces; the client is this process, CONCURRENCY requests
 * in flight. The cassandra backend caps bodies at 1 MiB (a body is one cell): its 4 MiB row is n/a.
 * Then streamed bodies (PUT/GET .../messages/:n/body) of 4 and 64 MiB on s3 and fs, each backend in a fresh
 * service process, with the process's resident memory before and its peak after (VmHWM): bounded memory.
 *
 *   make bench-bodies            (N=200 requests per cell, N_LARGE=20 for 4 MiB, N_STREAM=4, CONCURRENCY=4)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpuSeconds, stats } from './measure.js';
import { sleep } from '../../src/async.js';
import { freePort } from './free-port.js';

const N = Number(process.env.N ?? 200);
const N_LARGE = Number(process.env.N_LARGE ?? 20);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 4);
const SIZES = [1024, 64 * 1024, 4 * 1024 * 1024];
const N_STREAM = Number(process.env.N_STREAM ?? 4);
const STREAM_SIZES = [4 * 1024 * 1024, 64 * 1024 * 1024];
const ROOT = path.resolve(import.meta.dirname, '../..');


async function start(backend: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/cli.js', 'serve'], {
    cwd: ROOT, stdio: ['ignore', openSync('/dev/null', 'w'), 'inherit'],
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', CHAT_BODY_STORE: backend,
      CASSANDRA_HOT_KEYSPACE: process.env.TEST_HOT_KEYSPACE ?? 'ephemera_test_hot',
      CASSANDRA_COLD_KEYSPACE: process.env.TEST_COLD_KEYSPACE ?? 'ephemera_test_cold',
      BODY_STORE_PREFIX: `${process.env.TEST_SEARCH_PREFIX ?? 'ephemera_test'}/bench/`, SEARCH_FAST_INDEX: 'off',
      CHAT_MAX_BODY_BYTES: String(backend === 'cassandra' ? 1024 * 1024 : 8 * 1024 * 1024),
      MAX_BODY_BYTES: String(10 * 1024 * 1024), RATE_LIMIT_APPLICATION_CREATES_PER_MINUTE: '0',
      CHAT_MAX_STREAMED_BODY_BYTES: String(64 * 1024 * 1024) },
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 240; i++) {
    if (child.exitCode !== null) throw new Error(`service exited (${child.exitCode})`);
    try { if ((await fetch(`${url}/readyz`)).status === 200) return { child, url }; } catch { /* not yet */ }
    await sleep(250);
  }
  throw new Error('service not ready after 60 s');
}

const versitygwPid = (): number | null => {
  try {
    const file = path.join(process.env.EPHEMERA_CACHE ?? path.join(os.homedir(), '.cache', 'ephemera'), 's3-run', 'versitygw.pid');
    return Number(readFileSync(file, 'utf8').trim()) || null;
  } catch { return null; }
};

async function json(url: string, method: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) as Record<string, unknown> : {} };
}

/** `n` requests, CONCURRENCY in flight; latencies in ms, the service's (and store's) CPU seconds over them. */
async function phase(n: number, pids: number[], one: (i: number) => Promise<number>) {
  const before = pids.map(cpuSeconds);
  const samples: number[] = [];
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (let i = next++; i < n; i = next++) {
      const s = performance.now();
      const status = await one(i);
      if (status >= 300) errors += 1;
      else samples.push(performance.now() - s);
    }
  }));
  const st = stats(samples, errors, (performance.now() - t0) / 1000);
  const cpu = pids.map((p, i) => ((cpuSeconds(p) - before[i]!) * 1000) / n);
  return { p50: st.ms.p50!, p99: st.ms.p99!, errors, cpuMs: cpu.map((c) => Math.round(c * 100) / 100) };
}

/** A process's resident memory and its peak so far, MiB (/proc/<pid>/status). */
function rss(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { now: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Raw uploads and downloads through a fresh service per backend: latency, CPU and the service's peak RSS. */
async function streamed(): Promise<string[]> {
  const rows: string[] = [];
  for (const backend of ['s3', 'fs']) {
    const { child, url } = await start(backend);
    const pids = [child.pid!, ...(backend === 's3' && versitygwPid() ? [versitygwPid()!] : [])];
    try {
      const token = (await json(`${url}/applications`, 'POST', { name: 'bench-streamed' })).body.token as string;
      const before = rss(child.pid!).now;
      for (const size of STREAM_SIZES) {
        const chat = (await json(`${url}/applications/${token}/chats`, 'POST', { name: `s${size}` })).body.number as number;
        const base = `${url}/applications/${token}/chats/${chat}/messages`;
        const numbers: number[] = [];
        for (let i = 0; i < N_STREAM; i++) numbers.push((await json(base, 'POST', { body: `m${i}` })).body.number as number);
        const bytes = Buffer.alloc(size, 'streamed body ');
        const put = await phase(N_STREAM, pids, async (i) => (await fetch(`${base}/${numbers[i]}/body`, { method: 'PUT',
          headers: { 'content-type': 'text/plain; charset=utf-8' }, body: bytes })).status);
        const get = await phase(N_STREAM, pids, async (i) => {
          const res = await fetch(`${base}/${numbers[i]}/body`);
          let n = 0;
          for await (const chunk of res.body!) n += (chunk as Uint8Array).length;
          return n === size ? res.status : 599;
        });
        const cell = (p: typeof put) => `${p.p50.toFixed(0)} / ${p.p99.toFixed(0)} | ${p.cpuMs.join(' + ')}${p.errors ? ` (${p.errors} errors)` : ''}`;
        const mem = rss(child.pid!);
        rows.push(`| ${backend} | ${size / 1024 / 1024} MiB | ${N_STREAM} | ${cell(put)} | ${cell(get)} | ${before.toFixed(0)} → ${mem.peak.toFixed(0)} |`);
        process.stderr.write(`${rows.at(-1)}\n`);
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }
  return rows;
}

async function main() {
  const rows: string[] = [];
  for (const backend of ['s3', 'cassandra']) {
    const { child, url } = await start(backend);
    const pids = [child.pid!, ...(backend === 's3' && versitygwPid() ? [versitygwPid()!] : [])];
    try {
      const app = await json(`${url}/applications`, 'POST', { name: 'bench-bodies' });
      const token = app.body.token as string;
      for (const size of SIZES) {
        if (backend === 'cassandra' && size > 1024 * 1024) {
          rows.push(`| ${backend} | ${size / 1024} KiB | n/a (a body is one cell: at most 1 MiB) | | | | | |`);
          continue;
        }
        const n = size > 1024 * 1024 ? N_LARGE : N;
        const chat = (await json(`${url}/applications/${token}/chats`, 'POST', { name: `c${size}` })).body.number as number;
        const base = `${url}/applications/${token}/chats/${chat}/messages`;
        const body = (i: number, tag: string) => `${tag}${i} `.padEnd(size, 'x');
        const numbers: number[] = new Array<number>(n);
        const create = await phase(n, pids, async (i) => {
          const r = await json(base, 'POST', { body: body(i, 'c') });
          numbers[i] = r.body.number as number;
          return r.status;
        });
        const edit = await phase(n, pids, async (i) => (await json(`${base}/${numbers[i]}`, 'PUT', { body: body(i, 'e') })).status);
        const read = await phase(n, pids, async (i) => {
          const res = await fetch(`${base}/${numbers[i]}`);
          await res.arrayBuffer();
          return res.status;
        });
        const cell = (p: typeof create) => `${p.p50.toFixed(1)} / ${p.p99.toFixed(1)} | ${p.cpuMs.join(' + ')}${p.errors ? ` (${p.errors} errors)` : ''}`;
        rows.push(`| ${backend} | ${size / 1024} KiB | ${n} | ${cell(create)} | ${cell(edit)} | ${cell(read)} |`);
        process.stderr.write(`${rows.at(-1)}\n`);
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }
  process.stdout.write(['| backend | body | n | create p50 / p99 ms | create CPU ms/req (service + versitygw) | edit p50 / p99 ms | edit CPU ms/req | read p50 / p99 ms | read CPU ms/req |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |', ...rows].join('\n') + '\n');
  const streams = await streamed();
  process.stdout.write(['', '| backend | streamed body | n | PUT p50 / p99 ms | PUT CPU ms/req (service + versitygw) | GET p50 / p99 ms | GET CPU ms/req | service RSS MiB: before → peak |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |', ...streams].join('\n') + '\n');
}

main().then(() => process.exit(0), (err: unknown) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(1); });
