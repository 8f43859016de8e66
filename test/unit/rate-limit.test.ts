import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBuckets } from '../../src/http/rate-limit.js';

describe('token buckets', () => {
  it('when a key spends its burst, then it waits for the refill, and other keys are unaffected', () => {
    const b = new TokenBuckets(2, 4);
    const t = 1_000_000;
    for (let i = 0; i < 4; i++) assert.equal(b.take('a', t), 0);
    assert.equal(b.take('a', t), 1, 'the fifth request waits about a second');
    assert.equal(b.take('b', t), 0);
    assert.equal(b.take('a', t + 500), 0, 'half a second at 2/s refills one token');
  });

  it('when more keys arrive than the cap, then the oldest is forgotten (memory stays bounded)', () => {
    const b = new TokenBuckets(1, 1, 2);
    assert.equal(b.take('a', 0), 0);
    assert.equal(b.take('b', 0), 0);
    assert.equal(b.take('c', 0), 0);
    assert.equal(b.take('a', 0), 0, 'a was evicted, so it starts with a full bucket again');
  });
});
