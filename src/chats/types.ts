/** Plain objects of the chat-applications product. `appId` is internal: it never leaves the service. */
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

/** A page of numbered rows and whether rows after its last one exist. */
export interface NumberedPage<T> { items: T[]; more: boolean }

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
