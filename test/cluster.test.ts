import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnCli, spawnService, type ServiceProcess } from './support/processes.js';
import { uniqueUser } from './support/harness.js';
import { SEQUENCE_BITS, MAX_WRITERS } from '../src/ids/id-layout.js';

const writerOf = (id: number) => Math.floor(id / 2 ** SEQUENCE_BITS) % MAX_WRITERS;

async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A POST on a fresh connection: the cluster hands each new connection to the next worker. */
async function create(url: string, username: string): Promise<number> {
  const res = await fetch(`${url}/chat`, {
    method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify({ username, text: 'from a worker', timeout: 600 }),
  });
  assert.equal(res.status, 201);
  return ((await res.json()) as { id: number }).id;
}

const workerPids = (logs: string[]) => new Set(logs.filter((l) => l.includes('"listening"'))
  .map((l) => (JSON.parse(l) as { pid: number }).pid));

describe('serve --workers: one port, several processes', () => {
  let svc: ServiceProcess;
  let metricsPort: number;
  before(async () => {
    metricsPort = await freePort();
    svc = await spawnService({ PORT: '0', METRICS_PORT: String(metricsPort) }, ['serve', '--workers', '2']);
    for (let i = 0; i < 100 && workerPids(svc.logs).size < 2; i++) await sleep(100);
  });
  after(async () => { await svc.stop(); });

  it('when requests arrive on new connections, then both workers answer, each with its own id-writer slot', async () => {
    assert.equal(workerPids(svc.logs).size, 2, 'two workers listening');
    const user = uniqueUser('cluster');
    const ids: number[] = [];
    for (let i = 0; i < 16; i++) ids.push(await create(svc.url, user));
    assert.equal(new Set(ids.map(writerOf)).size, 2, 'ids come from two writer slots');
    const listed = (await (await fetch(`${svc.url}/chats/${user}`)).json()) as Array<{ id: number }>;
    assert.deepEqual(listed.map((m) => m.id), [...ids].sort((a, b) => a - b), 'every message is listed once, oldest first');
  });

  it('when metrics are scraped, then the primary serves the sum of the workers and the shared port serves none', async () => {
    const user = uniqueUser('cluster-metrics');
    const body = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const created = (text: string) => Number(/^ephemera_messages_created_total (\d+)/m.exec(text)?.[1] ?? 0);
    const before = created(await body());
    for (let i = 0; i < 10; i++) await create(svc.url, user);
    assert.equal(created(await body()) - before, 10, 'the creates of both workers are counted once each');
    assert.equal((await fetch(`${svc.url}/metrics`)).status, 404);
  });

  it('when a worker dies, then the primary starts another and the port keeps answering', async () => {
    const [victim] = workerPids(svc.logs);
    process.kill(victim!, 'SIGKILL');
    for (let i = 0; i < 150 && workerPids(svc.logs).size < 3; i++) await sleep(100);
    assert.equal(workerPids(svc.logs).size, 3, 'a third worker process started listening');
    assert.ok(svc.logs.some((l) => l.includes('worker exited; starting another')));
    for (let i = 0; i < 4; i++) assert.ok(await create(svc.url, uniqueUser('after-kill')) > 0);
  });

  it('when the primary gets SIGTERM, then every worker drains and it exits 0', async () => {
    assert.equal(await svc.stop('SIGTERM'), 0);
    assert.ok(svc.logs.some((l) => l.includes('"cluster stopped"')));
    for (const pid of workerPids(svc.logs)) assert.throws(() => process.kill(pid, 0), 'worker process is gone');
  });
});

describe('serve --workers: refused set-ups', () => {
  it('when WORKERS > 1 has no METRICS_PORT, then it exits 78 naming METRICS_PORT', async () => {
    const run = await spawnCli(['serve'], { WORKERS: '2' });
    assert.equal(await run.exited, 78);
    assert.match(run.logs.join('\n'), /METRICS_PORT: is required when WORKERS > 1/);
  });

  it('when --workers is not a count, then it exits 64 with a usage message', async () => {
    const run = await spawnCli(['serve', '--workers', 'many']);
    assert.equal(await run.exited, 64);
    assert.match(run.logs.join('\n'), /--workers takes a positive whole number or auto/);
  });
});
