import type { BodyStore } from './body-store.js';
import { FsBodyStore } from './fs-store.js';
import { S3BodyStore } from './s3-store.js';
import type { BodyStoreSettings } from './settings.js';

/** The configured object store; null for CHAT_BODY_STORE=cassandra (bodies stay in the row). */
export function createBodyStore(s: BodyStoreSettings): BodyStore | null {
  switch (s.kind) {
    case 'cassandra': return null;
    case 'fs': return new FsBodyStore(s.dir, s.prefix);
    case 's3': return new S3BodyStore(s.s3);
  }
}
