import type { Context } from 'koa';
import { AppError, badRequest } from '../errors.js';
import { Stale, type IfMatch, type WriteConditions } from '../chats/conditions.js';

/** RFC 9110 §8.8.3: an entity-tag is `"..."` or `W/"..."`; ours are the version, `"7"`. */
const ENTITY_TAG = /^(W\/)?"([\x21\x23-\x7e]*)"$/;

export const etagOf = (version: number): string => `"${version}"`;

/** Sets the ETag of a response that carries one versioned resource. */
export function setETag(ctx: Context, version: number): void {
  ctx.set('etag', etagOf(version));
}

/**
 * If-Match, parsed (RFC 9110 §13.1.1): absent -> null; `*` -> any; else a comma-separated list of entity-tags,
 * of which only strong ones naming a version can match (a weak tag never matches: If-Match compares strongly).
 * A value that is not a list of entity-tags is 400 invalid_if_match.
 */
export function ifMatch(ctx: Context): IfMatch | null {
  const raw = ctx.get('if-match').trim();
  if (raw === '') return null;
  if (raw === '*') return '*';
  const versions: number[] = [];
  for (const part of raw.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const m = ENTITY_TAG.exec(part);
    if (!m) throw badRequest('invalid_if_match', 'If-Match must be * or a list of entity-tags such as "3"');
    if (!m[1] && /^[1-9]\d{0,8}$/.test(m[2]!)) versions.push(Number(m[2]));
  }
  return versions;
}

/** A lease token we could have issued (22 base64url characters), or null when the header is absent. */
export function leaseToken(ctx: Context): string | null {
  const raw = ctx.get('lease-token').trim();
  if (raw === '') return null;
  if (!/^[A-Za-z0-9_-]{22}$/.test(raw)) {
    throw badRequest('invalid_lease_token', 'Lease-Token must be the lease_token a lease request answered');
  }
  return raw;
}

export function requiredLeaseToken(ctx: Context): string {
  const token = leaseToken(ctx);
  if (token === null) throw badRequest('invalid_lease_token', 'the Lease-Token header is required here');
  return token;
}

export const conditions = (ctx: Context): WriteConditions => ({ ifMatch: ifMatch(ctx), leaseToken: leaseToken(ctx) });

/**
 * Runs a change; a 412 goes out with the current resource shaped like a success (`current`) and its ETag, so a
 * client can merge and retry without another GET.
 */
export async function orStale<T extends { version: number }>(view: (current: T) => unknown, run: () => Promise<void>) {
  try {
    await run();
  } catch (err) {
    if (!(err instanceof Stale)) throw err;
    const current = err.current as T;
    throw new AppError(err.status, err.code, err.message, { etag: etagOf(current.version) }, { current: view(current) });
  }
}
