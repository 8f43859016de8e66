import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { check, checkNumbering, errorBurst } from '../cluster/checker.js';
import type { HistoryEvent, OpName, OpType } from '../cluster/history.js';

/** Builds a history by hand: each call appends one event; `at` increases by 1 per event. */
function history() {
  const events: HistoryEvent[] = [];
  const add = (type: OpType, f: OpName, op: number, key: string, extra: Partial<HistoryEvent> = {}) =>
    events.push({ type, f, op, process: 'p', key, at: events.length, ...extra });
  return { events, add };
}

describe('the cluster history checker', () => {
  it('when every acknowledged message is listed once, then the history is valid with nothing lost', () => {
    const { events, add } = history();
    add('invoke', 'create', 1, 'u', { value: 'a' }); add('ok', 'create', 1, 'u', { value: 10 });
    add('invoke', 'create', 2, 'u', { value: 'b' }); add('ok', 'create', 2, 'u', { value: 11 });
    add('invoke', 'list', 3, 'u'); add('ok', 'list', 3, 'u', { value: [[10, 'a'], [11, 'b']] });
    const r = check(events);
    assert.equal(r.valid, true);
    assert.deepEqual([r.inbox.acknowledged, r.inbox.delivered, r.inbox.lost, r.inbox.duplicated, r.inbox.unexpected], [2, 2, 0, 0, 0]);
  });

  it('when an acknowledged message is never listed and no list failed, then it counts as lost', () => {
    const { events, add } = history();
    add('invoke', 'create', 1, 'u', { value: 'a' }); add('ok', 'create', 1, 'u', { value: 10 });
    add('invoke', 'list', 2, 'u'); add('ok', 'list', 2, 'u', { value: [] });
    const r = check(events);
    assert.equal(r.valid, false);
    assert.equal(r.inbox.lost, 1);
    assert.deepEqual(r.lostIds, [10]);
  });

  it('when a list with an unknown outcome ran after the create, then the missing message is in doubt, not lost; a create after that list is lost', () => {
    const { events, add } = history();
    add('invoke', 'create', 1, 'u', { value: 'a' }); add('ok', 'create', 1, 'u', { value: 10 });
    add('invoke', 'list', 2, 'u'); add('info', 'list', 2, 'u', { error: 'cut' });
    add('invoke', 'create', 3, 'u', { value: 'b' }); add('ok', 'create', 3, 'u', { value: 11 });
    add('invoke', 'list', 4, 'u'); add('ok', 'list', 4, 'u', { value: [] });
    const r = check(events);
    assert.equal(r.inbox.inDoubt, 1);
    assert.equal(r.inbox.lost, 1);
    assert.deepEqual(r.lostIds, [11]);
  });

  it('when a message is listed twice, then each extra delivery counts as a duplicate', () => {
    const { events, add } = history();
    add('invoke', 'create', 1, 'u', { value: 'a' }); add('ok', 'create', 1, 'u', { value: 10 });
    add('invoke', 'list', 2, 'u'); add('ok', 'list', 2, 'u', { value: [[10, 'a']] });
    add('invoke', 'drain', 3, 'u'); add('ok', 'drain', 3, 'u', { value: [[10, 'a']] });
    assert.equal(check(events).inbox.duplicated, 1);
  });

  it('when a list returns a text nobody sent, or one whose create certainly failed, then both count as unexpected; a create with an unknown outcome may appear', () => {
    const { events, add } = history();
    add('invoke', 'create', 1, 'u', { value: 'failed' }); add('fail', 'create', 1, 'u', { status: 400 });
    add('invoke', 'create', 2, 'u', { value: 'maybe' }); add('info', 'create', 2, 'u', { status: 503 });
    add('invoke', 'list', 3, 'u'); add('ok', 'list', 3, 'u', { value: [[7, 'failed'], [8, 'ghost'], [9, 'maybe']] });
    const r = check(events);
    assert.equal(r.inbox.unexpected, 2);
    assert.equal(r.inbox.recovered, 1);
  });

  it('when numbers are handed out, then duplicates and gaps are told apart, and a gap is explained only by a failed numbering', () => {
    const { events, add } = history();
    add('invoke', 'number', 1, 'chat'); add('ok', 'number', 1, 'chat', { value: 1 });
    add('invoke', 'number', 2, 'chat'); add('ok', 'number', 2, 'chat', { value: 1 });
    add('invoke', 'number', 3, 'chat'); add('ok', 'number', 3, 'chat', { value: 4 });
    add('invoke', 'number', 4, 'chat'); add('info', 'number', 4, 'chat');
    assert.deepEqual(checkNumbering(events), { numbered: 3, duplicates: 1, gaps: 2, unexplainedGaps: 1 });
    assert.equal(check(events).valid, false);
    assert.equal(checkNumbering([]), null);
  });

  it('when errors follow a fault, then the burst reports their count, span and the slowest operation', () => {
    const { events, add } = history();
    add('invoke', 'create', 1, 'u', { value: 'a' }); add('ok', 'create', 1, 'u', { value: 1 });
    add('invoke', 'create', 2, 'u', { value: 'b' }); add('info', 'create', 2, 'u');
    add('invoke', 'list', 3, 'u'); add('info', 'list', 3, 'u');
    assert.deepEqual(errorBurst(events, 2), { errors: 2, firstAt: 3, spanMs: 2, slowestMs: 1 });
  });
});
