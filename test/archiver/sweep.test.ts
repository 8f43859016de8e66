import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, log, postChat, uniqueUser, type Listed } from '../support/harness.js';
import { BUCKET_MS, bucketOf } from '../../src/storage/time-buckets.js';
import { formatExpiration, type StoredMessage } from '../../src/inbox/message.js';
import { idTime } from '../../src/ids/id-layout.js';
import { runArchiver, type RunOptions } from '../../src/workers/archiver/run.js';
import {
  pool, capturingLogger, recordingDb, config, db, server, archiverKeyspaces, setCheckpoint, coldRows,
  hotExpiries, assertAllArchived,
} from './support.js';
import { archiverSettings } from '../../src/settings.js';

/** What one sweep moves to cold, with which expiration, and what a run reads when there is nothing new. */
describe('archiver: timed-out messages move from hot to cold', () => {
  archiverKeyspaces({ withServer: true });

  it('when 10,000 messages with mixed timeouts exist, then one sweep moves exactly the expired ones to cold, with their real expiration', async () => {
    await setCheckpoint(bucketOf(Date.now()) - 1);
    const user = uniqueUser('arch-mixed');
    const timeouts = Array.from({ length: 10_000 }, (_, i) => (i % 2 === 0 ? (i / 2) % 3 : 3600));
    const ids: number[] = new Array<number>(timeouts.length);
    await pool(timeouts.length, 128, async (i) => {
      ids[i] = await server.service.create({ username: `${user}-${i % 20}`, text: `mixed ${i}`, timeout: timeouts[i]! });
    });
    const hot = await hotExpiries(ids);
    assert.equal(hot.size, 10_000);
    for (const [i, id] of ids.entries()) {
      const late = hot.get(id)!.getTime() - idTime(id) - timeouts[i]! * 1000;
      assert.ok(late >= 0 && late < 10_000, `expiry of ${id} is its creation + timeout`);
    }
    const created = ids.map((id, i): StoredMessage => ({ id, username: `${user}-${i % 20}`, text: `mixed ${i}`, expiresAt: hot.get(id)! }));
    const expired = created.filter((_, i) => timeouts[i]! <= 2);
    const unexpired = created.filter((_, i) => timeouts[i]! > 2);

    // 75 s on: every short timeout's minute-bucket is complete and settled; 3600 s is far away.
    const now = Date.now() + 75_000;
    const { log: runLog, lines } = capturingLogger();
    assert.equal(await runArchiver(db, archiverSettings(config), runLog, { now }), 'success');
    const done = lines.find((l) => l.msg === 'archiver run done')!;
    assert.equal(done.swept, expired.length, 'the sweep touched exactly the expired messages');

    const cold = await coldRows(ids);
    const wronglyArchived = unexpired.filter((m) => cold.has(m.id));
    assert.equal(wronglyArchived.length, 0, `${wronglyArchived.length} unexpired messages were archived`);
    assertAllArchived(expired, cold);

    // The API serves archived messages (from cold) and unexpired ones (from hot) with their real expiration.
    for (const m of [...expired.slice(0, 60), ...unexpired.slice(0, 20)]) {
      const res = await getJson<{ username: string; expiration_date: string }>(`${server.url}/chat/${m.id}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.username, m.username);
      assert.equal(res.body.expiration_date, formatExpiration(m.expiresAt));
    }
  });

  it('when a message was consumed by GET /chats before the sweep, then cold keeps its read time as expiration (the earliest wins)', async () => {
    await setCheckpoint(bucketOf(Date.now()) - 1);
    const user = uniqueUser('arch-read');
    const consumed: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await postChat(server.url, { username: user, text: `read me ${i}`, timeout: 20 });
      assert.equal(res.status, 201);
      consumed.push(res.body.id as number);
    }
    const readFrom = Date.now();
    const read = await getJson<Listed>(`${server.url}/chats/${user}`);
    const readUntil = Date.now();
    assert.deepEqual(read.body.map((m) => m.id), consumed);
    const unread = (await postChat(server.url, { username: user, text: 'never read', timeout: 1 })).body.id as number;

    assert.equal(await runArchiver(db, archiverSettings(config), log, { now: Date.now() + 20_000 + 75_000 }), 'success');
    const cold = await coldRows([...consumed, unread]);
    const hot = await hotExpiries([...consumed, unread]);
    for (const id of consumed) {
      const c = cold.get(id)!;
      assert.equal(c.reason, 'read');
      assert.ok(c.expiredAt.getTime() >= readFrom && c.expiredAt.getTime() <= readUntil,
        `expired_at ${c.expiredAt.toISOString()} is the read time, not the timeout ${hot.get(id)!.toISOString()}`);
      const res = await getJson<{ expiration_date: string }>(`${server.url}/chat/${id}`);
      assert.equal(res.body.expiration_date, formatExpiration(c.expiredAt));
    }
    assert.equal(cold.get(unread)?.reason, 'timeout');
    assert.equal(cold.get(unread)?.expiredAt.getTime(), hot.get(unread)!.getTime());
  });

  it('when there is nothing new to sweep, then a run scans only the new buckets, writes nothing and sweeps 0, however much waits in hot', async () => {
    // Twenty minutes ahead nothing expires (the other tests' timeouts are 0-20 s, 3600 s, or in the past).
    const from = bucketOf(Date.now() + 20 * 60_000);
    await setCheckpoint(from);
    const opts: RunOptions = { now: (from + 4) * BUCKET_MS + config.DELIVERY_SETTLE_MS + 1 };

    const rec = recordingDb(db);
    const { log: runLog, lines } = capturingLogger();
    assert.equal(await runArchiver(rec.db, archiverSettings(config), runLog, opts), 'success');
    const done = lines.find((l) => l.msg === 'archiver run done')!;
    assert.equal(done.swept, 0);
    assert.equal(done.buckets, 3);
    assert.equal(rec.count('expiry_index_scan'), 3 * 16, 'one read per shard of each new bucket');
    assert.equal(rec.count('insert_cold'), 0);
    assert.equal(rec.count('archiver_state_write'), 3);

    const again = recordingDb(db);
    const second = capturingLogger();
    assert.equal(await runArchiver(again.db, archiverSettings(config), second.log, opts), 'success');
    const idle = second.lines.find((l) => l.msg === 'archiver run done')!;
    assert.equal(idle.swept, 0);
    assert.equal(idle.buckets, 0);
    assert.equal(again.count('expiry_index_scan'), 0);
    assert.ok(again.calls.length <= 4, `a caught-up run sent ${again.calls.length} statements: ${again.calls.map((c) => c.statement).join(', ')}`);
  });
});
