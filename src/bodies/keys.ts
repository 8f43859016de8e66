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

/** The parts of a message object's key (relative to the store's prefix); null for anything else. */
export function parseKey(key: string): { appId: string; chat: number; number: number; version: number } | null {
  const m = /^m\/([0-9a-f-]{36})\/(\d+)\/(\d+)\/v(\d+)-[0-9a-f]{64}-[0-9a-f]{16}$/.exec(key);
  return m ? { appId: m[1]!, chat: Number(m[2]), number: Number(m[3]), version: Number(m[4]) } : null;
}
