import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { groupStatements, type Statement } from '../../src/storage/statement-batcher.js';

const st = (name: string, payloadBytes: number): Statement => ({ name, query: 'q', params: [], payloadBytes });

describe('statement grouping under Cassandra\'s batch limits', () => {
  it('when groups are small, then up to four share one batch, kept whole', () => {
    const groups = Array.from({ length: 9 }, (_, i) => [st(`a${i}`, 10), st(`b${i}`, 10)]);
    const requests = groupStatements(groups);
    assert.deepEqual(requests.map((r) => r.length), [8, 8, 2]);
    assert.deepEqual(requests[0]!.map((s) => s.name), ['a0', 'b0', 'a1', 'b1', 'a2', 'b2', 'a3', 'b3']);
  });

  it('when payloads would pass 2 KiB, then a new batch starts', () => {
    const requests = groupStatements([[st('x', 1500)], [st('y', 1000)], [st('z', 10)]]);
    assert.deepEqual(requests.map((r) => r.map((s) => s.name)), [['x'], ['y', 'z']]);
  });

  it('when one group alone is over the limit, then its statements go one by one', () => {
    const requests = groupStatements([[st('small', 10)], [st('big1', 3000), st('big2', 3000)]]);
    assert.deepEqual(requests.map((r) => r.map((s) => s.name)), [['big1'], ['big2'], ['small']]);
  });

  it('when there is nothing to send, then there is no request', () => {
    assert.deepEqual(groupStatements([]), []);
  });
});
