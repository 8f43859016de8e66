import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import cassandra from 'cassandra-driver';
import { classifyFailure, isConditional, isUnavailable } from '../../src/storage/cassandra.js';
import { socketClosedError } from '../support/faulty-db.js';

describe('storage error mapping', () => {
  it('when the driver reports timeouts, no host or an unavailable replica set, then it means "unavailable" (503)', () => {
    assert.ok(isUnavailable(new cassandra.errors.OperationTimedOutError('timed out')));
    assert.ok(isUnavailable(new cassandra.errors.NoHostAvailableError({})));
    const unavailable = new cassandra.errors.ResponseError(cassandra.types.responseErrorCodes.unavailableException, 'x');
    assert.ok(isUnavailable(unavailable));
  });

  it('when the error is a bad request or a plain bug, then it is not "unavailable"', () => {
    assert.ok(!isUnavailable(new cassandra.errors.ResponseError(cassandra.types.responseErrorCodes.syntaxError, 'x')));
    assert.ok(!isUnavailable(new TypeError('undefined is not a function')));
    assert.ok(!isUnavailable('a string'));
  });

  it('when the driver\'s socket closes after a request was written, then a conditional write is outcome-unknown and a plain statement 503', () => {
    // The driver's own error class and flags, as lib/connection.js builds them for pending requests.
    const sent = socketClosedError();
    assert.ok(sent instanceof cassandra.errors.DriverError);
    assert.equal(sent.message, 'Socket was closed');
    assert.equal(classifyFailure(sent, true), 'outcome-unknown');
    assert.equal(classifyFailure(sent, false), 'unavailable');
  });

  it('when the socket closes before the request was written, then even a conditional write certainly did not apply (503)', () => {
    const unsent = socketClosedError(true);
    assert.equal(classifyFailure(unsent, true), 'unavailable');
    assert.equal(classifyFailure(unsent, false), 'unavailable');
  });

  it('when a conditional write times out or fails on the server, then its outcome is unknown; refused before Paxos, 503', () => {
    const c = cassandra.types.responseErrorCodes;
    assert.equal(classifyFailure(new cassandra.errors.OperationTimedOutError('timed out'), true), 'outcome-unknown');
    assert.equal(classifyFailure(new cassandra.errors.ResponseError(c.writeTimeout, 'x'), true), 'outcome-unknown');
    assert.equal(classifyFailure(new cassandra.errors.ResponseError(c.unavailableException, 'x'), true), 'unavailable');
    assert.equal(classifyFailure(new cassandra.errors.NoHostAvailableError({}), true), 'unavailable');
    assert.equal(classifyFailure(new TypeError('bug'), true), 'other');
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
    const { isMessageId, parseMessageId } = await import('../../src/http/inbox/parsing.js');
    assert.ok(isMessageId('1234567890123'));
    assert.ok(!isMessageId('paulrad'));
    assert.ok(!isMessageId('99999999999999999'));
    assert.throws(() => parseMessageId('-1'), (e: { status?: number }) => e.status === 400);
  });

  it('when an Idempotency-Key has spaces or is too long, then 400', async () => {
    const { parseIdempotencyKey } = await import('../../src/http/idempotency-key.js');
    assert.equal(parseIdempotencyKey('abc-123'), 'abc-123');
    assert.throws(() => parseIdempotencyKey('a b'), (e: { status?: number }) => e.status === 400);
    assert.throws(() => parseIdempotencyKey('x'.repeat(201)), (e: { status?: number }) => e.status === 400);
  });
});
