import { createHash, randomBytes } from 'node:crypto';

/** Lower-case hex SHA-256 of the bytes: the digest recorded in the row and checked on every read. */
export const sha256Hex = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Every message body object lives under `<prefix>m/`; the create-only probe under `<prefix>probe/`. */
export const MESSAGES = 'm/';
export const PROBES = 'probe/';

/** The key prefix of one message's objects (every version): `m/<app>/<chat>/<number>/`. */
export const messagePrefix = (appId: string, chat: number, number: number): string =>
  `${MESSAGES}${appId}/${chat}/${number}/`;

/**
 * The key of one version's body: `m/<app>/<chat>/<number>/v<version>-<sha256>-<attempt>`. The attempt part (8
 * random bytes) makes every upload a new object: a retry or a racing editor with the same body never finds
 * "its" key taken by an object that may be older than the sweeper's grace period, so no row is ever pointed at
 * an object the sweeper may already be deleting; and the editor recognises its own row by the key alone.
 */
export const versionKey = (appId: string, chat: number, number: number, version: number, sha256: string): string =>
  `${messagePrefix(appId, chat, number)}v${version}-${sha256}-${randomBytes(8).toString('hex')}`;

/**
 * The key of a streamed body: `m/<app>/<chat>/<number>/v<version>-<attempt>`, without the digest, which is known
 * only once the last byte went to the store (copying the object to a key with its digest would double the I/O of
 * the largest bodies, and S3 has no create-only rename). The row records the digest; on S3 the object carries it
 * as its checksum (x-amz-checksum-sha256, verified by the store). `<version>` is the version the upload was first
 * meant for: an edit that loses a round points the row's next version to the same object.
 */
export const streamKey = (appId: string, chat: number, number: number, version: number): string =>
  `${messagePrefix(appId, chat, number)}v${version}-${randomBytes(8).toString('hex')}`;

/** The parts of a message object's key (relative to the store's prefix); null for anything else. */
export function parseKey(key: string): { appId: string; chat: number; number: number; version: number } | null {
  const m = /^m\/([0-9a-f-]{36})\/(\d+)\/(\d+)\/v(\d+)-(?:[0-9a-f]{64}-)?[0-9a-f]{16}$/.exec(key);
  return m ? { appId: m[1]!, chat: Number(m[2]), number: Number(m[3]), version: Number(m[4]) } : null;
}
