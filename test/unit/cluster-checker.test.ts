import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { check, checkEdits, checkNumbering, errorBurst } from '../cluster/checker.js';
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

  it('when acknowledged edits are current or superseded by a later acknowledged one, then no edit is lost', () => {
    const { events, add } = history();
    add('invoke', 'edit', 1, 'm/1', { value: 'a' }); add('ok', 'edit', 1, 'm/1', { value: [1, 2, 'a'] });
    add('invoke', 'edit', 2, 'm/1', { value: 'b' }); add('ok', 'edit', 2, 'm/1', { value: [1, 3, 'b'] });
    add('invoke', 'read', 3, 'm/1'); add('ok', 'read', 3, 'm/1', { value: { version: 3, body: 'b' } });
    const r = check(events);
    assert.equal(r.valid, true);
    assert.deepEqual([r.edits?.acknowledged, r.edits?.lost, r.edits?.inDoubt], [2, 0, 0]);
  });

  it('when the final state is older than an acknowledged edit, or two acknowledged edits claim one version, then each missing edit counts as lost', () => {
    const { events, add } = history();
    add('invoke', 'edit', 1, 'm/1', { value: 'a' }); add('ok', 'edit', 1, 'm/1', { value: [1, 2, 'a'] });
    add('invoke', 'read', 2, 'm/1'); add('ok', 'read', 2, 'm/1', { value: { version: 1, body: 'x' } });
    add('invoke', 'edit', 3, 'm/2', { value: 'b' }); add('ok', 'edit', 3, 'm/2', { value: [2, 2, 'b'] });
    add('invoke', 'edit', 4, 'm/2', { value: 'c' }); add('ok', 'edit', 4, 'm/2', { value: [2, 2, 'c'] });
    add('invoke', 'read', 5, 'm/2'); add('ok', 'read', 5, 'm/2', { value: { version: 2, body: 'c' } });
    const r = check(events);
    assert.equal(r.valid, false);
    assert.equal(r.edits?.lost, 2);
    assert.deepEqual(r.edits?.lostEdits.map((e) => e.split(' ')[0]), ['m/1', 'm/2']);
  });

  it('when an edit with an unknown outcome could have applied on top, then the overwritten acknowledged edit is in doubt, not lost', () => {
    const { events, add } = history();
    add('invoke', 'edit', 1, 'm/1', { value: 'a' }); add('ok', 'edit', 1, 'm/1', { value: [1, 2, 'a'] });
    add('invoke', 'edit', 2, 'm/1', { value: 'b' }); add('info', 'edit', 2, 'm/1', { error: 'timeout' });
    add('invoke', 'read', 3, 'm/1'); add('ok', 'read', 3, 'm/1', { value: { version: 3, body: 'b' } });
    const r = checkEdits(events);
    assert.deepEqual([r?.lost, r?.inDoubt, r?.indeterminate], [0, 1, 1]);
  });

  it('when errors follow a fault, then the burst reports their count among the requests, span, time to recover and the slowest operation', () => {
    const { events, add } = history();
    add('invoke', 'create', 1, 'u', { value: 'a' }); add('ok', 'create', 1, 'u', { value: 1 });
    add('invoke', 'create', 2, 'u', { value: 'b' }); add('info', 'create', 2, 'u');
    add('invoke', 'list', 3, 'u'); add('info', 'list', 3, 'u');
    assert.deepEqual(errorBurst(events, 2), { errors: 2, requests: 2, firstAt: 3, spanMs: 2, recoverMs: 3, slowestMs: 1 });
  });
});
