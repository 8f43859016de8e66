import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  cutAtDeadline, offStorageClock, storageTimeLeft, StorageDeadlinePassed, withoutStorageDeadline, withStorageDeadline,
} from '../../src/storage/request-deadline.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a request\'s storage deadline (rules)', () => {
  it('when no request is running, then storage time is unbounded and nothing is cut', async () => {
    assert.equal(storageTimeLeft(), Number.POSITIVE_INFINITY);
    assert.equal(await cutAtDeadline('s', Promise.resolve(7), storageTimeLeft()), 7);
  });

  it('when a request starts, then its clock starts at its first statement, not before', async () => {
    await withStorageDeadline(1_000, async () => {
      await sleep(30);
      assert.equal(storageTimeLeft(5_000), 1_000, 'the first look starts the clock');
      assert.equal(storageTimeLeft(5_400), 600);
      assert.equal(storageTimeLeft(6_100), -100);
    });
  });

  it('when a body store call runs, then its time is added to the deadline', async () => {
    await withStorageDeadline(1_000, async () => {
      const start = storageTimeLeft();
      await Promise.all([offStorageClock(() => sleep(60)), offStorageClock(() => sleep(40))]);
      const left = storageTimeLeft();
      assert.ok(left >= start - 15 && left <= start, `two overlapping calls counted once, off the clock (${start} -> ${left})`);
    });
  });

  it('when a statement outlives the time left, then it is cut with StorageDeadlinePassed', async () => {
    await assert.rejects(cutAtDeadline('slow', sleep(200), 20), StorageDeadlinePassed);
    assert.equal(await cutAtDeadline('fast', Promise.resolve('done'), 200), 'done');
  });

  it('when work runs outside the deadline inside a request, then it is unbounded again', async () => {
    await withStorageDeadline(10, async () => {
      assert.ok(storageTimeLeft() <= 10);
      await withoutStorageDeadline(async () => {
        await sleep(5);
        assert.equal(storageTimeLeft(), Number.POSITIVE_INFINITY);
      });
    });
  });
});
