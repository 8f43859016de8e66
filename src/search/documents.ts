import { foldText } from './fold.js';

/** A message as the search index sees it: (token, chat, number) identifies it; `version` only grows. */
export interface MessageDoc {
  token: string;
  chat: number;
  number: number;
  body: string;
  /** The message's edit version (1 on create, +1 per edit); the delete of a message carries a higher one. */
  version: number;
  created_at?: Date | string;
  updated_at?: Date | string;
}

/**
 * One entry of the change log the indexer consumes (the seam to the durable bucketed log): an upsert carries the
 * body of that version, a delete only the version that removed it. Applying the same events again, or in any
 * order, leaves the index as if they had been applied once in version order.
 */
export interface ChangeEvent {
  kind: 'upsert' | 'delete';
  token: string;
  chat: number;
  number: number;
  body?: string;
  version: number;
  created_at?: Date | string;
  updated_at?: Date | string;
}

export interface MessageKey { token: string; chat: number; number: number; version: number; updated_at?: Date | string }

export const docId = (m: { token: string; chat: number; number: number }) => `${m.token}:${m.chat}:${m.number}`;

const iso = (d: Date | string | undefined) => (d === undefined ? undefined : new Date(d).toISOString());

/** The indexed source of a live message. */
export function liveSource(m: MessageDoc): Record<string, unknown> {
  return {
    token: m.token, chat: m.chat, number: m.number, body: m.body, body_folded: foldText(m.body),
    version: m.version, deleted: false, created_at: iso(m.created_at), updated_at: iso(m.updated_at),
  };
}

/** The indexed source of a deleted message: no body, but its version, so older upserts stay refused. */
export function tombstoneSource(m: MessageKey): Record<string, unknown> {
  return {
    token: m.token, chat: m.chat, number: m.number, version: m.version, deleted: true,
    updated_at: iso(m.updated_at),
  };
}

/** Throws on an event no version of the index could hold (a bug upstream, not a transient failure). */
export function checkEvent(e: ChangeEvent): void {
  const where = `change ${e.kind} ${docId(e)}`;
  if (e.kind !== 'upsert' && e.kind !== 'delete') throw new Error(`${where}: unknown kind`);
  if (typeof e.token !== 'string' || e.token === '') throw new Error(`${where}: token must be a non-empty string`);
  for (const k of ['chat', 'number', 'version'] as const) {
    if (!Number.isSafeInteger(e[k]) || e[k] < 0) throw new Error(`${where}: ${k} must be a non-negative integer`);
  }
  if (e.kind === 'upsert' && typeof e.body !== 'string') throw new Error(`${where}: an upsert needs a body`);
}
