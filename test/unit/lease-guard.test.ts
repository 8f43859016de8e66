import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LockLost, renewingGuard } from '../../src/storage/lease-guard.js';

/** A lock whose renewals answer what the test says, counted; and a clock the test moves. */
function setup(answers: boolean[] = []) {
  let now = 1_000_000;
  const lock = {
    name: 'log:test:consumer',
    renewals: 0,
    async renew() { this.renewals += 1; await new Promise((r) => setImmediate(r)); return answers.shift() ?? true; },
  };
  const guard = renewingGuard(lock, 30, now, () => now);
  return { lock, guard, advance: (ms: number) => { now += ms; } };
}

describe('assertHeld of a walk under an LWT lock', () => {
  it('when the last renewal was sent less than a third of the TTL ago, then it passes without renewing', async () => {
    const { lock, guard, advance } = setup();
    await guard();
    advance(9_999);
    await guard();
    assert.equal(lock.renewals, 0);
  });

  it('when a third of the TTL has passed, then the callers waiting share one renewal, and the next third needs none', async () => {
    const { lock, guard, advance } = setup();
    advance(10_000);
    await Promise.all([guard(), guard(), guard()]);
    assert.equal(lock.renewals, 1);
    advance(9_000);
    await guard();
    assert.equal(lock.renewals, 1, 'counted from the renewal, not from the acquire');
    advance(1_000);
    await guard();
    assert.equal(lock.renewals, 2);
  });

  it('when a renewal is refused, then it throws LockLost, and on every later call without asking again', async () => {
    const { lock, guard, advance } = setup([false]);
    advance(10_000);
    await assert.rejects(guard(), LockLost);
    await assert.rejects(guard(), LockLost);
    assert.equal(lock.renewals, 1);
  });
});
