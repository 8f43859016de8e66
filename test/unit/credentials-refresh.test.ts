import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { REFRESH_BEFORE_MS, RefreshingSource } from '../../src/bodies/credentials/refreshing.js';
import { CredentialsUnavailable, type Credentials } from '../../src/bodies/credentials/types.js';
import { encodedLength, AwsChunkedEncoder, CHUNK } from '../../src/bodies/aws-chunked.js';
import { Readable } from 'node:stream';

describe('credentials refresh', () => {
  const HOUR = 3_600_000;
  function source(answers: Array<Credentials | Error>) {
    let now = 1_000_000;
    let calls = 0;
    const s = new RefreshingSource('test', async () => {
      const a = answers[Math.min(calls++, answers.length - 1)]!;
      if (a instanceof Error) throw a;
      return a;
    }, () => now);
    return { s, advance: (ms: number) => { now += ms; }, calls: () => calls, at: (ms: number) => now + ms };
  }

  it('when credentials are far from expiry, then they are reused; within the refresh window they are fetched again', async () => {
    const t = source([]);
    const first = { accessKeyId: 'a', secretAccessKey: 's', expiresAt: t.at(HOUR) };
    const second = { accessKeyId: 'b', secretAccessKey: 's', expiresAt: t.at(2 * HOUR) };
    const answers = [first, second];
    const s = new RefreshingSource('test', async () => answers.shift()!, () => t.at(0));
    assert.equal((await s.get()).accessKeyId, 'a');
    t.advance(HOUR - REFRESH_BEFORE_MS - 1000);
    assert.equal((await s.get()).accessKeyId, 'a');
    t.advance(2000); // now inside the last 5 minutes
    assert.equal((await s.get()).accessKeyId, 'b');
  });

  it('when a refresh fails while the old credentials are valid, then they are kept; once expired, the failure is thrown', async () => {
    const t = source([]);
    let calls = 0;
    const s = new RefreshingSource('test', async () => {
      calls += 1;
      if (calls === 1) return { accessKeyId: 'a', secretAccessKey: 's', expiresAt: t.at(HOUR) };
      throw new CredentialsUnavailable('endpoint down');
    }, () => t.at(0));
    await s.get();
    t.advance(HOUR - 60_000);
    assert.equal((await s.get()).accessKeyId, 'a');
    assert.equal((await s.get()).accessKeyId, 'a');
    assert.equal(calls, 2, 'a failed refresh is not retried on every request');
    t.advance(120_000);
    await assert.rejects(s.get(), CredentialsUnavailable);
  });

  it('when many ask at once, then one fetch answers them all', async () => {
    let calls = 0;
    const s = new RefreshingSource('test', async () => {
      calls += 1;
      await new Promise((r) => setTimeout(r, 20));
      return { accessKeyId: 'a', secretAccessKey: 's' };
    });
    await Promise.all(Array.from({ length: 10 }, () => s.get()));
    assert.equal(calls, 1);
  });
});

describe('aws-chunked encoding', () => {
  for (const size of [1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17]) {
    it(`when a ${size}-byte body is encoded in uneven pieces, then its length is what Content-Length announced`, async () => {
      const pieces: Buffer[] = [];
      for (let sent = 0; sent < size;) {
        const n = Math.min(size - sent, 1 + ((sent * 7919) % 40_000));
        pieces.push(Buffer.alloc(n, 97));
        sent += n;
      }
      const enc = new AwsChunkedEncoder(() => Buffer.alloc(32));
      let total = 0;
      for await (const c of Readable.from(pieces).pipe(enc)) total += (c as Buffer).length;
      assert.equal(total, encodedLength(size));
    });
  }
});
