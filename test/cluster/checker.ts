import type { Delivered, HistoryEvent } from './history.js';

/**
 * Reads a recorded history after the run, Jepsen-style, and counts what went wrong. The inbox model: a create
 * that answered 201 is *acknowledged* and must be delivered exactly once by some list; a create that failed
 * with an unknown outcome may or may not be delivered (never twice); nothing else may ever be delivered.
 */
export interface InboxCounts {
  createsInvoked: number;
  acknowledged: number;
  createsFailed: number;
  createsIndeterminate: number;
  listsOk: number;
  listsIndeterminate: number;
  delivered: number;
  /** Acknowledged, never delivered, and no list with an unknown outcome could have claimed it. */
  lost: number;
  /** Acknowledged, not seen by the client, but a list with an unknown outcome (cut, 5xx) ran after its create. */
  inDoubt: number;
  /** Deliveries of an id beyond its first. */
  duplicated: number;
  /** Delivered but never created: an unknown text, a definitely failed create, or an id with another text. */
  unexpected: number;
  /** Creates with an unknown outcome that were delivered after all (allowed). */
  recovered: number;
}

/** Chat message numbering (to come with src/chats): each number handed out once per chat, gaps only for failures. */
export interface NumberingCounts { numbered: number; duplicates: number; gaps: number; unexplainedGaps: number }

/** Edits of chat messages, judged against the one read of each edited message after the load. */
export interface EditCounts {
  edited: number;
  acknowledged: number;
  indeterminate: number;
  /**
   * Acknowledged edits that are neither the final state (same version and body) nor superseded by a later
   * acknowledged edit of the same message (a higher version), and that no edit with an unknown outcome can
   * explain. Two acknowledged edits claiming one version count here too: one of them is gone.
   */
  lost: number;
  /** Not current, not superseded by an acknowledged edit, but an edit with an unknown outcome could have been. */
  inDoubt: number;
  /** Edited messages with no successful read after the load: nothing can be judged for them. */
  unread: number;
  lostEdits: string[];
}

export interface CheckReport { inbox: InboxCounts; numbering: NumberingCounts | null; edits: EditCounts | null; lostIds: number[]; valid: boolean }

interface Pair { invoke: HistoryEvent; done?: HistoryEvent }

function pairs(events: HistoryEvent[]): Pair[] {
  const byOp = new Map<number, Pair>();
  for (const e of events) {
    if (e.f === 'fault') continue;
    if (e.type === 'invoke') byOp.set(e.op, { invoke: e });
    else {
      const p = byOp.get(e.op);
      if (!p) throw new Error(`completion of op ${e.op} without an invocation`);
      p.done = e;
    }
  }
  return [...byOp.values()];
}

export function checkInbox(events: HistoryEvent[]): { counts: InboxCounts; lostIds: number[] } {
  const ops = pairs(events);
  const creates = ops.filter((p) => p.invoke.f === 'create');
  const lists = ops.filter((p) => p.invoke.f === 'list' || p.invoke.f === 'drain');
  // An operation with no completion (the run ended first) is as unknown as one that timed out.
  const outcome = (p: Pair) => p.done?.type ?? 'info';

  const textOfAck = new Map<number, string>();
  const createByText = new Map<string, Pair>();
  for (const c of creates) {
    createByText.set(`${c.invoke.key}\u0000${String(c.invoke.value)}`, c);
    if (outcome(c) === 'ok') textOfAck.set(Number(c.done!.value), String(c.invoke.value));
  }

  const seen = new Map<number, number>();
  let unexpected = 0;
  let recovered = 0;
  for (const l of lists) {
    if (outcome(l) !== 'ok') continue;
    for (const [id, text] of l.done!.value as Delivered) {
      const times = (seen.get(id) ?? 0) + 1;
      seen.set(id, times);
      if (times > 1) continue;
      const create = createByText.get(`${l.invoke.key}\u0000${text}`);
      const ackedText = textOfAck.get(id);
      if (!create || outcome(create) === 'fail' || (ackedText !== undefined && ackedText !== text)) unexpected++;
      else if (outcome(create) === 'info') recovered++;
    }
  }

  const unknownLists = lists.filter((l) => outcome(l) === 'info');
  const lostIds: number[] = [];
  let inDoubt = 0;
  for (const c of creates) {
    if (outcome(c) !== 'ok') continue;
    const id = Number(c.done!.value);
    if (seen.has(id)) continue;
    // A list can only have claimed a message whose create started before that list ended.
    const couldClaim = unknownLists.some((l) => l.invoke.key === c.invoke.key && (l.done?.at ?? Infinity) > c.invoke.at);
    if (couldClaim) inDoubt++;
    else lostIds.push(id);
  }

  let duplicated = 0;
  for (const n of seen.values()) duplicated += n - 1;
  const counts: InboxCounts = {
    createsInvoked: creates.length,
    acknowledged: creates.filter((c) => outcome(c) === 'ok').length,
    createsFailed: creates.filter((c) => outcome(c) === 'fail').length,
    createsIndeterminate: creates.filter((c) => outcome(c) === 'info').length,
    listsOk: lists.filter((l) => outcome(l) === 'ok').length,
    listsIndeterminate: unknownLists.length,
    delivered: seen.size,
    lost: lostIds.length,
    inDoubt,
    duplicated,
    unexpected,
    recovered,
  };
  return { counts, lostIds };
}

/**
 * Numbering histories: `number` operations whose ok value is the number a chat handed out. A number given twice
 * is a duplicate; a number below the highest that nobody got is a gap, explained only by as many unknown or
 * failed `number` operations on that chat.
 */
export function checkNumbering(events: HistoryEvent[]): NumberingCounts | null {
  const ops = pairs(events).filter((p) => p.invoke.f === 'number');
  if (ops.length === 0) return null;
  const counts: NumberingCounts = { numbered: 0, duplicates: 0, gaps: 0, unexplainedGaps: 0 };
  const byChat = new Map<string, Pair[]>();
  for (const p of ops) byChat.set(p.invoke.key, [...(byChat.get(p.invoke.key) ?? []), p]);
  for (const chatOps of byChat.values()) {
    const given = chatOps.filter((p) => p.done?.type === 'ok').map((p) => Number(p.done!.value));
    const failed = chatOps.length - given.length;
    const distinct = new Set(given);
    counts.numbered += given.length;
    counts.duplicates += given.length - distinct.size;
    const max = Math.max(0, ...given);
    const gaps = max - distinct.size;
    counts.gaps += gaps;
    counts.unexplainedGaps += Math.max(0, gaps - failed);
  }
  return counts;
}

export function checkEdits(events: HistoryEvent[]): EditCounts | null {
  const all = pairs(events);
  const edits = all.filter((p) => p.invoke.f === 'edit');
  if (edits.length === 0) return null;
  const finals = new Map<string, { version: number; body: string }>();
  for (const r of all) {
    if (r.invoke.f === 'read' && r.done?.type === 'ok') finals.set(r.invoke.key, r.done.value as { version: number; body: string });
  }
  const counts: EditCounts = { edited: 0, acknowledged: 0, indeterminate: 0, lost: 0, inDoubt: 0, unread: 0, lostEdits: [] };
  const byMessage = new Map<string, Pair[]>();
  for (const p of edits) byMessage.set(p.invoke.key, [...(byMessage.get(p.invoke.key) ?? []), p]);
  for (const [key, ops] of byMessage) {
    counts.edited++;
    const acked = ops.filter((p) => p.done?.type === 'ok');
    const unknown = ops.filter((p) => p.done === undefined || p.done.type === 'info');
    counts.acknowledged += acked.length;
    counts.indeterminate += unknown.length;
    const final = finals.get(key);
    if (!final) { if (acked.length > 0) counts.unread++; continue; }
    for (const e of acked) {
      const [, version, body] = e.done!.value as [number, number, string];
      const current = final.version === version && final.body === body;
      const superseded = acked.some((o) => o !== e && (o.done!.value as [number, number, string])[1] > version);
      if (current || superseded) continue;
      // An edit with an unknown outcome may have applied on top of this one (it ended after this one began).
      const couldSupersede = final.version > version && unknown.some((u) => (u.done?.at ?? Infinity) > e.invoke.at);
      if (couldSupersede) { counts.inDoubt++; continue; }
      counts.lost++;
      counts.lostEdits.push(`${key} v${version} "${body}" (final v${final.version} "${final.body}")`);
    }
  }
  return counts;
}

export function check(events: HistoryEvent[]): CheckReport {
  const { counts, lostIds } = checkInbox(events);
  const numbering = checkNumbering(events);
  const edits = checkEdits(events);
  const valid = counts.lost === 0 && counts.duplicated === 0 && counts.unexpected === 0
    && (numbering === null || (numbering.duplicates === 0 && numbering.unexplainedGaps === 0))
    && (edits === null || edits.lost === 0);
  return { inbox: counts, numbering, edits, lostIds, valid };
}

/**
 * Failed or unknown completions in [from, to): how many, over how long, the slowest operation overall, how many
 * operations completed in the window, and `recoverMs`: from `from` to the last error (0 without errors), the time
 * the fault was visible to clients.
 */
export function errorBurst(events: HistoryEvent[], from: number, to = Infinity): { errors: number; requests: number; firstAt: number | null; spanMs: number; recoverMs: number; slowestMs: number } {
  const invokedAt = new Map<number, number>();
  let errors = 0;
  let requests = 0;
  let first: number | null = null;
  let last = 0;
  let slowest = 0;
  for (const e of events) {
    if (e.f === 'fault' || e.f === 'drain' || e.f === 'read') continue;
    if (e.type === 'invoke') { invokedAt.set(e.op, e.at); continue; }
    if (e.at < from || e.at >= to) continue;
    requests++;
    slowest = Math.max(slowest, e.at - (invokedAt.get(e.op) ?? e.at));
    if (e.type === 'ok') continue;
    errors++;
    first ??= e.at;
    last = e.at;
  }
  return { errors, requests, firstAt: first, spanMs: first === null ? 0 : Math.round(last - first),
    recoverMs: first === null ? 0 : Math.round(last - from), slowestMs: Math.round(slowest) };
}
