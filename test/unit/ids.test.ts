import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { composeId, firstIdAt, ID_EPOCH_MS, idTime, MAX_SEQUENCE, MAX_WRITERS } from '../../src/ids/id-layout.js';
import { IdGenerator } from '../../src/ids/id-generator.js';

describe('id layout', () => {
  it('when the largest time, writer and sequence are composed, then the id is still a safe integer', () => {
    const maxMs = 2 ** 41 - 1;
    assert.ok(Number.isSafeInteger(composeId(maxMs, MAX_WRITERS - 1, MAX_SEQUENCE)));
    assert.equal(new Date(ID_EPOCH_MS + maxMs).getUTCFullYear(), 2094);
  });

  it('when ids are taken apart, then the time they were issued comes back', () => {
    const t = Date.UTC(2026, 10, 22, 12, 0, 0, 123);
    assert.equal(idTime(composeId(t - ID_EPOCH_MS, 77, 31)), t);
    assert.ok(firstIdAt(t) <= composeId(t - ID_EPOCH_MS, 0, 0));
    assert.ok(firstIdAt(t + 1) > composeId(t - ID_EPOCH_MS, MAX_WRITERS - 1, MAX_SEQUENCE));
  });
});

describe('id generator', () => {
  it('when the clock steps backwards, then ids keep increasing and never repeat', () => {
    let clock = Date.UTC(2026, 0, 1);
    const gen = new IdGenerator(5, 0, () => clock);
    const ids: number[] = [];
    for (let i = 0; i < 200; i++) ids.push(gen.next());
    clock -= 1000; // NTP step back
    for (let i = 0; i < 200; i++) ids.push(gen.next());
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `id ${i} increases`);
  });

  it('when more than 32 ids are needed in one millisecond, then it borrows the next millisecond', () => {
    const clock = Date.UTC(2026, 0, 1);
    const gen = new IdGenerator(1, 0, () => clock);
    const ids = Array.from({ length: 100 }, () => gen.next());
    assert.equal(new Set(ids).size, 100);
    assert.ok(idTime(ids.at(-1)!) > clock);
  });

  it('when it starts from a previous holder\'s horizon, then its ids are above everything issued before', () => {
    const clock = Date.UTC(2026, 0, 1);
    const old = new IdGenerator(3, 0, () => clock + 5000); // previous holder's clock ran 5 s ahead
    const oldId = old.next();
    const successor = new IdGenerator(3, old.horizonUnixMs, () => clock);
    assert.ok(successor.next() > oldId);
  });

  it('when the borrowed time runs too far ahead of the clock, then it refuses with 503', () => {
    const gen = new IdGenerator(0, 0, () => Date.UTC(2026, 0, 1));
    assert.throws(() => { for (let i = 0; i < 32 * 3000; i++) gen.next(); }, (e: { status?: number }) => e.status === 503);
  });
});
