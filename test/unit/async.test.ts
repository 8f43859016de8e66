import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inParallel, sleep } from '../../src/async.js';

describe('inParallel: bounded concurrency', () => {
  it('when 50 items run 4 wide, then every item runs once and never more than 4 at a time', async () => {
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    await inParallel(Array.from({ length: 50 }, (_, i) => i), 4, async (i) => {
      running++;
      most = Math.max(most, running);
      await sleep(i % 3);
      seen.push(i);
      running--;
    });
    assert.equal(most, 4);
    assert.deepEqual(seen.sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  });

  it('when one call fails, then no new call starts, the calls in flight end first, and the first error is thrown', async () => {
    const started: number[] = [];
    let inFlight = 0;
    const rejected = inParallel(Array.from({ length: 20 }, (_, i) => i), 3, async (i) => {
      started.push(i);
      inFlight++;
      try {
        if (i === 1) throw new Error('item 1 failed');
        await sleep(20);
      } finally {
        inFlight--;
      }
    });
    await assert.rejects(rejected, /item 1 failed/);
    assert.equal(inFlight, 0, 'nothing left running once it rejected');
    assert.ok(started.length < 20, `stopped taking items after the failure (started ${started.length})`);
  });

  it('when there are no items, then it resolves without calling the work', async () => {
    await inParallel([], 8, () => assert.fail('called'));
  });
});
