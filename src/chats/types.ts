import type { VersionEntry } from './message-history.js';

/** Plain objects (and their one projection) of the chat-applications product. `appId` is internal: it never leaves the service. */
export interface Application {
  appId: string;
  token: string;
  name: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface Chat {
  number: number;
  name: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface ChatMessage {
  number: number;
  body: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** An edit lease: one editor at a time, until `expiresAt` (the lease cells' TTL). */
export interface EditLease { token: string; expiresAt: Date }

/**
 * What the row records of its body: the object holding it (`key`, null when the body is the row's cell), its
 * SHA-256 (hex) and size in bytes. A row written before file storage (or a fence placeholder) has none.
 */
export interface BodyRef { key: string | null; digest: string; size: number }

/**
 * A message row as stored: deleted rows stay (numbers are never reused), with the lease, if one is held. With an
 * object store `body` is the first CHAT_BODY_INLINE_BYTES of the body (message-bodies.ts reads the rest).
 */
export interface StoredMessage extends ChatMessage {
  deletedAt: Date | null;
  lease: EditLease | null;
  ref: BodyRef | null;
  /** The retained versions, oldest first (read by find() only; [] elsewhere). */
  history: VersionEntry[];
}

/** The part of a stored message a client may see. */
export const publicPart = (m: StoredMessage): ChatMessage =>
  ({ number: m.number, body: m.body, version: m.version, createdAt: m.createdAt, updatedAt: m.updatedAt });

/** A page of numbered rows and whether rows after its last one exist. */
export interface NumberedPage<T> { items: T[]; more: boolean }

/** A page a client walks: `next` is the `after` of its rel=next link, null when the list ends here for now. */
export interface ListPage<T> { items: T[]; next: number | null }

/**
 * One entry of the chat change log: enough for the counts worker (which partition to recount) and a search
 * indexer (which document to upsert or delete, and at which version, so a late or repeated entry is harmless).
 */
export interface ChangeEntry {
  entity: 'chat' | 'message';
  op: 'upsert' | 'delete';
  app: string;
  token: string;
  chat: number;
  /** The message number; 0 for a chat entry. */
  message: number;
  version: number;
  /** Unix ms of the change. */
  at: number;
}
