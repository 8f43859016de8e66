import { AppError } from '../errors.js';

/**
 * RFC 9110 If-Match, already parsed: `*` (any current version) or the versions of the strong entity-tags listed
 * (weak tags never match a strong comparison, so they are dropped; an empty list matches nothing).
 */
export type IfMatch = '*' | number[];

/** What a client states about a change: the version it saw and the lease it holds (either may be absent). */
export interface WriteConditions {
  ifMatch: IfMatch | null;
  leaseToken: string | null;
}

export const NO_CONDITIONS: WriteConditions = { ifMatch: null, leaseToken: null };

export const matches = (ifMatch: IfMatch, version: number): boolean =>
  ifMatch === '*' || ifMatch.includes(version);

/** 412 carrying what is stored now; the HTTP layer shapes `current` and sends it with its ETag. */
export class Stale<T> extends AppError {
  constructor(readonly current: T) {
    super(412, 'precondition_failed', 'the version in If-Match is not the current one; the current one is in `current`');
  }
}

/** REQUIRE_IF_MATCH=true and a change came without If-Match (RFC 6585). */
export const ifMatchRequired = () =>
  new AppError(428, 'precondition_required', 'this change needs an If-Match header with the ETag it is based on');

/** 423: someone else holds the message's edit lease (until `expiresAt`, when known). */
export const locked = (expiresAt: Date | null) =>
  new AppError(423, 'locked', 'another editor holds the lease of this message; retry after it expires',
    {}, { expires_at: expiresAt ? expiresAt.toISOString() : null });

/** 409: the request names a lease (Lease-Token) that no longer holds the message: it lapsed or was released. */
export const leaseExpired = () =>
  new AppError(409, 'lease_expired', 'this lease has expired or was released; take a new one');

/** A 412 (with what is stored now) unless the client's If-Match, if any, holds for `current`. */
export function checkIfMatch<T extends { version: number }>(ifMatch: IfMatch | null, current: T): void {
  if (ifMatch !== null && !matches(ifMatch, current.version)) throw new Stale(current);
}

/** A change without If-Match under REQUIRE_IF_MATCH=true is refused before anything is read. */
export function requireIfMatch(required: boolean, conditions: WriteConditions): void {
  if (required && conditions.ifMatch === null) throw ifMatchRequired();
}
