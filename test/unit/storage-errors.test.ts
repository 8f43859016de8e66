import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import cassandra from 'cassandra-driver';
import { certainlyNotApplied, isConditional, isUnavailable } from '../../src/storage/cassandra.js';

describe('storage error mapping', () => {
  it('when the driver reports timeouts, no host or an unavailable replica set, then it means "unavailable" (503)', () => {
    assert.ok(isUnavailable(new cassandra.errors.OperationTimedOutError('timed out')));
    assert.ok(isUnavailable(new cassandra.errors.NoHostAvailableError({})));
    const unavailable = new cassandra.errors.ResponseError(cassandra.types.responseErrorCodes.unavailableException, 'x');
    assert.ok(isUnavailable(unavailable));
  });

  it('when the socket closes under a request (a node killed), then it is "unavailable", and a conditional write on it is settled unless it was never written', () => {
    const closed = (written: boolean) => Object.assign(new (cassandra.errors.DriverError as unknown as new (m: string) => Error)('Socket was closed'),
      { isSocketError: true, requestNotWritten: !written });
    assert.ok(isUnavailable(closed(true)));
    assert.ok(isUnavailable(closed(false)));
    assert.ok(!certainlyNotApplied(closed(true)), 'sent: the CAS may have applied');
    assert.ok(certainlyNotApplied(closed(false)), 'never written: it did not apply');
  });

  it('when the error is a bad request or a plain bug, then it is not "unavailable"', () => {
    assert.ok(!isUnavailable(new cassandra.errors.ResponseError(cassandra.types.responseErrorCodes.syntaxError, 'x')));
    assert.ok(!isUnavailable(new TypeError('undefined is not a function')));
    assert.ok(!isUnavailable('a string'));
  });

  it('when a statement has an IF clause, then it is conditional (never retried by the driver)', () => {
    assert.ok(isConditional('INSERT INTO t (k) VALUES (?) IF NOT EXISTS'));
    assert.ok(isConditional('UPDATE t SET v = ? WHERE k = ? IF version = ? AND claim = ?'));
    assert.ok(!isConditional('INSERT INTO t (k, ifx) VALUES (?, ?) USING TTL ?'));
    assert.ok(!isConditional('SELECT diff FROM t WHERE k = ?'));
  });
});

describe('request parsing', () => {
  it('when a path segment is 1-16 digits and a safe integer, then it is a message id', async () => {
    const { isMessageId, parseMessageId } = await import('../../src/http/request-parsing.js');
    assert.ok(isMessageId('1234567890123'));
    assert.ok(!isMessageId('paulrad'));
    assert.ok(!isMessageId('99999999999999999'));
    assert.throws(() => parseMessageId('-1'), (e: { status?: number }) => e.status === 400);
  });

  it('when an Idempotency-Key has spaces or is too long, then 400', async () => {
    const { parseIdempotencyKey } = await import('../../src/http/request-parsing.js');
    assert.equal(parseIdempotencyKey('abc-123'), 'abc-123');
    assert.throws(() => parseIdempotencyKey('a b'), (e: { status?: number }) => e.status === 400);
    assert.throws(() => parseIdempotencyKey('x'.repeat(201)), (e: { status?: number }) => e.status === 400);
  });
});
