import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EarlierSends } from '../../src/chats/earlier-sends.js';
import { CasOutcomeUnknown } from '../../src/storage/cassandra.js';

interface Row { version: number; by: string }
interface Send { version: number; by: string }

/** Sends of one change, identified by who wrote (the real ones: a body key, a name and a time). */
const sendsOf = (final = false) => new EarlierSends<Row, Send>((row, send) => row.by === send.by, 'test_cas', final);

describe('recognising a change\'s own earlier sends', () => {
  it('when the row holds the first of two sends, then the first is found, not only the last', () => {
    const sends = sendsOf();
    const first = sends.sent({ version: 1, by: 'a' });
    assert.equal(sends.settle({ version: 1, by: 'x' }, first), false, 'the read-back found the row untouched');
    sends.sent({ version: 1, by: 'b' });
    assert.equal(sends.find({ version: 2, by: 'a' }), first);
  });

  it('when the row is one version past an open send and not ours, then that send is settled as not applied', () => {
    const sends = sendsOf();
    const first = sends.sent({ version: 1, by: 'a' });
    sends.settle({ version: 1, by: 'x' }, first);
    assert.equal(sends.find({ version: 2, by: 'other' }), null);
    assert.equal(sends.find({ version: 3, by: 'other' }), null, 'settled: a later version proves nothing about it');
  });

  it('when the row moved two versions past a send still open, then the outcome is unknown, never "not ours"', () => {
    const sends = sendsOf();
    const first = sends.sent({ version: 1, by: 'a' });
    sends.settle({ version: 1, by: 'x' }, first);
    assert.throws(() => sends.find({ version: 3, by: 'other' }), CasOutcomeUnknown);
  });

  it('when a send was answered "not applied" by Cassandra itself, then a row moved on past it is not in doubt', () => {
    const sends = sendsOf();
    sends.sent({ version: 1, by: 'a' });
    assert.equal(sends.find({ version: 3, by: 'other' }), null);
  });

  it('when the change is final (a delete) and the row moved on past an open send, then it is not ours and not in doubt', () => {
    const sends = sendsOf(true);
    const first = sends.sent({ version: 1, by: 'a' });
    assert.equal(sends.settle({ version: 3, by: 'other' }, first), false, 'nothing is written on top of a delete');
    assert.equal(sends.find({ version: 3, by: 'other' }), null);
  });
});
