import type { StoredMessage } from '../../chats/types.js';
import type { ChangeEvent } from '../../search/documents.js';

/**
 * A message row as the search index must hold it: a live row is a document at its version, a deleted row (it
 * stays, with deleted_at, version + 1 and an empty body) is a tombstone at its version, so search never returns
 * it and an older upsert can never bring it back.
 */
export function rowEvent(key: { token: string; chat: number; number: number }, row: StoredMessage): ChangeEvent {
  if (row.deletedAt !== null) return { kind: 'delete', ...key, version: row.version, updated_at: row.updatedAt };
  return {
    kind: 'upsert', ...key, body: row.body, version: row.version, created_at: row.createdAt, updated_at: row.updatedAt,
  };
}
