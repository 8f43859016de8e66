import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LockLost } from '../../src/storage/lease.js';
import { LeaseGuard } from '../../src/storage/lease-guard.js';

/** A lock whose renewals answer what the test says, counted; and a clock the test moves. */
function setup(answers: boolean[] = []) {
  let now = 1_000_000;
  const lock = {
    name: 'log:test:consumer',
    renewals: 0,
    async renew() { this.renewals += 1; await new Promise((r) => setImmediate(r)); return answers.shift() ?? true; },
  };
  const guard = new LeaseGuard(lock, { name: lock.name, ttlSeconds: 30, clock: () => now }, now).assertHeld;
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

describe('the lease guard\'s safety rule: held until the last acknowledged renewal was sent + TTL − 1 s', () => {
  /** A 3 s lease: a renewal is due after 1 s, and the lease is certainly ours until 2 s after the last send. */
  function hung(renew: () => Promise<boolean>) {
    let now = 1_000_000;
    const lock = { renewals: 0, renew() { this.renewals += 1; return renew(); } };
    const guard = new LeaseGuard(lock, { name: 'test', ttlSeconds: 3, clock: () => now }, now);
    return { lock, guard, advance: (ms: number) => { now += ms; } };
  }

  it('when a renewal is never answered, then the walk waiting on it gets LockLost once the lease could lapse, not later', async () => {
    const { guard, advance } = hung(() => new Promise<boolean>(() => undefined));
    advance(1_000);
    const started = Date.now();
    await assert.rejects(guard.assertHeld(), LockLost);
    const waited = Date.now() - started;
    assert.ok(waited >= 900 && waited < 1_900, `waited ${waited} ms for a renewal that could be answered for 1000 ms`);
    assert.equal(guard.lost, true);
  });

  it('when a renewal fails, then the lease counts as lost, and no call asks again', async () => {
    const { lock, guard, advance } = hung(() => Promise.reject(new Error('timed out')));
    advance(1_000);
    await assert.rejects(guard.assertHeld(), /renewal failed: timed out/);
    await assert.rejects(guard.assertHeld(), LockLost);
    assert.equal(lock.renewals, 1);
  });

  it('when no call renewed in time, then the next call finds it lost without asking', async () => {
    const { lock, guard, advance } = hung(async () => true);
    advance(2_000);
    await assert.rejects(guard.assertHeld(), /no renewal acknowledged in time/);
    assert.equal(lock.renewals, 0);
  });
});
