import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ensureSchema, getJson, log, postChat, startTestServer, uniqueUser, type Listed } from '../support/harness.js';
import { MessageService } from '../../src/inbox/message-service.js';
import { inboxStores } from '../../src/inbox/stores.js';
import type { Db } from '../../src/storage/cassandra.js';
import { spawnService, type ServiceProcess } from '../support/processes.js';
import type { RunningServer } from '../../src/server.js';
import { inboxSettings } from '../../src/settings.js';


describe('exactly-once delivery across service processes', () => {
  let a: ServiceProcess;
  let b: ServiceProcess;
  before(async () => {
    await ensureSchema();
    [a, b] = await Promise.all([spawnService(), spawnService()]);
  });
  after(async () => { await Promise.all([a?.stop(), b?.stop()]); });

  it('when one user gets parallel creates and reads on two processes, then delivered plus pending equals created, with no duplicates', async () => {
    const user = uniqueUser('race');
    const urls = [a.url, b.url];
    const created = new Set<number>();
    const delivered: number[] = [];
    let writing = true;

    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; i < 40; i++) {
        const res = await postChat(urls[(w + i) % 2]!, { username: user, text: `m-${w}-${i}`, timeout: 600 });
        assert.equal(res.status, 201);
        created.add(res.body.id as number);
      }
    });
    const readers = Array.from({ length: 6 }, async (_, r) => {
      while (writing) {
        const res = await getJson<Listed>(`${urls[r % 2]}/chats/${user}`);
        assert.equal(res.status, 200);
        delivered.push(...res.body.map((m) => m.id));
      }
    });
    await Promise.all(writers);
    writing = false;
    await Promise.all(readers);
    // Drain whatever is still pending, alternating processes.
    for (let i = 0; i < 2; i++) {
      const res = await getJson<Listed>(`${urls[i % 2]}/chats/${user}`);
      delivered.push(...res.body.map((m) => m.id));
    }
    assert.equal(created.size, 320);
    assert.equal(new Set(delivered).size, delivered.length, 'no message delivered twice');
    assert.deepEqual([...delivered].sort((x, y) => x - y), [...created].sort((x, y) => x - y), 'every created message delivered');
  });
});

describe('list reads stay cheap as history grows (no queue anti-pattern)', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ DELIVERY_SETTLE_MS: '4000', MAX_CLOCK_SKEW_MS: '500', LIST_PAGE_SIZE: '250',
      CASSANDRA_REQUEST_TIMEOUT_MS: '1500' });
  });
  after(async () => { await server.close(); });

  /** Creates through the service, 32 at a time (a loaded CI machine must not time writes out). */
  async function createMany(user: string, n: number, text: (i: number) => string): Promise<void> {
    for (let i = 0; i < n; i += 32) {
      await Promise.all(Array.from({ length: Math.min(32, n - i) }, (_, j) =>
        server.service.create({ username: user, text: text(i + j), timeout: 600 })));
    }
  }

  async function traceOfRead(user: string): Promise<{ live: number; tombstones: number; delivered: number; reads: number }> {
    const traces: string[] = [];
    let delivered = 0;
    for await (const batch of tracingService(traces).consume(user)) delivered += batch.length;
    let live = 0;
    let tombstones = 0;
    let reads = 0;
    for (const id of traces) {
      const trace = await waitForTrace(id);
      for (const e of trace.events) {
        const m = /Read (\d+) live rows and (\d+) tombstone cells/.exec(e.activity);
        if (m) { live += Number(m[1]); tombstones += Number(m[2]); reads += 1; }
      }
    }
    assert.ok(reads > 0, 'the query trace reports the partition read');
    return { live, tombstones, delivered, reads };
  }

  /** The server's rules over a client that traces every slice of a user's partition and notes the trace ids. */
  function tracingService(traces: string[]): MessageService {
    const spy = Object.create(server.db) as Db;
    spy.execute = async (statement, cql, params, opts = {}) => {
      const rs = await server.db.execute(statement, cql, params,
        statement === 'select_pending' ? { ...opts, traceQuery: true } : opts);
      if (rs.info.traceId) traces.push(String(rs.info.traceId));
      return rs;
    };
    return new MessageService(inboxStores(spy), { nextId: () => { throw new Error('reads only'); } },inboxSettings(
      server.config), log);
  }

  async function waitForTrace(id: string) {
    const { types } = (await import('cassandra-driver')).default;
    for (let i = 0; ; i++) {
      const trace = await server.db.client.metadata.getTrace(types.Uuid.fromString(id));
      if (trace.events.some((e) => /live rows/.test(e.activity)) || i > 20) return trace;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it('when a user has consumed thousands of messages, then a read scans no tombstones and only the live tail', async () => {
    const user = uniqueUser('heavy');
    for (let round = 0; round < 6; round++) {
      await createMany(user, 500, (i) => `r${round}-${i}`);
      const read = await traceOfRead(user);
      assert.equal(read.delivered, 500);
      assert.equal(read.tombstones, 0);
    }
    // Once the settle window has passed, the watermark moves over everything consumed.
    await new Promise((r) => setTimeout(r, 4500));
    await traceOfRead(user);
    const quiet = await traceOfRead(user);
    console.log(`read after 3000 consumed: ${JSON.stringify(quiet)}`);
    assert.equal(quiet.delivered, 0);
    assert.equal(quiet.tombstones, 0, 'no tombstones scanned');
    assert.ok(quiet.live <= 5, `a read after 3000 consumed messages scans ${quiet.live} rows, not thousands`);

    await postChat(server.url, { username: user, text: 'fresh', timeout: 600 });
    const next = await traceOfRead(user);
    assert.equal(next.delivered, 1);
    assert.ok(next.live <= 5, `delivering one new message scans ${next.live} rows`);
  });

  it('when a user has a large backlog, then GET /chats streams it all in pages, oldest first', async () => {
    const user = uniqueUser('backlog');
    const total = 3000;
    await createMany(user, total, (i) => `b-${i}`);
    const res = await getJson<Listed>(`${server.url}/chats/${user}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.length, total);
    const ids = res.body.map((m) => m.id);
    assert.deepEqual(ids, [...ids].sort((x, y) => x - y), 'oldest first');
    assert.deepEqual((await getJson<Listed>(`${server.url}/chats/${user}`)).body, []);
  });
});
