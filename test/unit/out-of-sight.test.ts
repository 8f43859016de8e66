import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { outOfSight } from '../../src/storage/cas.js';

describe('a lost write out of sight in its row', () => {
  it('when a row remembers one write, then a send on version 4 is in sight at 5 and out of sight at 6', () => {
    assert.equal(outOfSight(4, 4, 1), false);
    assert.equal(outOfSight(5, 4, 1), false);
    assert.equal(outOfSight(6, 4, 1), true);
  });

  it('when a cursor remembers 16 claims, then a send on version 4 is in sight up to 20 and out of sight at 21', () => {
    assert.equal(outOfSight(20, 4, 16), false);
    assert.equal(outOfSight(21, 4, 16), true);
  });
});
