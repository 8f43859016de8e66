import type { Readable } from 'node:stream';
import { AppError } from '../errors.js';

/** One stored object as a listing shows it. */
export interface ListedObject { key: string; lastModified: Date }

/** An object being read: its bytes as they come, and its size as the store states it. */
export interface ObjectStream { stream: Readable; size: number }

/**
 * Where message bodies live as immutable objects (one per message version). Every write is create-only: an
 * object, once written, is never replaced, so a row that points to it always reads the bytes it recorded.
 * Implementations: `fs` (fs-store.ts, a local directory) and `s3` (s3-store.ts, any S3 API). The `cassandra`
 * backend has no object store: the body stays in the row's cell (message-bodies.ts).
 */
export interface BodyStore {
  readonly kind: 'fs' | 's3';
  /** Which link of the credential chain signs (s3 only; logged at start). */
  readonly credentials?: string;
  /**
   * Writes `bytes` under `key` only if nothing is there yet; `sha256` (hex) is the bytes' digest, sent for the
   * store to verify where it can. Throws ObjectExists when the key is taken, BodyStoreUnavailable when the store
   * cannot be reached or does not answer in time.
   */
  putNew(key: string, bytes: Buffer, sha256: string): Promise<void>;
  /**
   * Writes `size` bytes read from `body` under `key`, create-only, holding a bounded part of it at a time.
   * `digest()` (the body's SHA-256) is asked for once `body` has ended: the store checks it where it can (S3:
   * a trailing checksum) and only then makes the object visible. An error of `body` (too short, not text, the
   * client gone) is thrown as it is, and nothing is stored under `key` (on S3, possibly nothing at all: the
   * store refuses an upload whose trailer never came; the sweeper removes whatever a crash leaves).
   */
  putStream(key: string, body: Readable, size: number, digest: () => Buffer): Promise<void>;
  /** The object as a stream; null when there is none. Throws BodyStoreUnavailable like get. */
  getStream(key: string): Promise<ObjectStream | null>;
  /** The object's bytes; null when there is none. */
  get(key: string): Promise<Buffer | null>;
  /** Removes the object (no error when it is already gone). */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): AsyncGenerator<ListedObject>;
}

/** A create-only write found the key taken. */
export class ObjectExists extends Error {
  constructor(readonly key: string) { super(`object ${key} already exists`); }
}

/** The body store did not answer, or not in time: bodies cannot be written or read now (503), the rest works. */
export class BodyStoreUnavailable extends AppError {
  constructor(readonly detail: string) {
    super(503, 'unavailable', 'message bodies cannot be stored or read right now; retry later',
      { 'retry-after': '1' });
  }
}
