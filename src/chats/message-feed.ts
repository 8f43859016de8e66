import type { ChangeEvent } from '../search/documents.js';

/**
 * Where a chat message's new version goes once Cassandra acknowledged its row write (the search fast path,
 * src/search/fast-indexer.ts). It must neither wait nor throw: the write's answer never depends on it, and the
 * change log remains the path that guarantees every version arrives.
 */
export type MessageFeed = (change: ChangeEvent) => void;

export const noFeed: MessageFeed = () => undefined;
