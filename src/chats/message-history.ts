import { createHash } from 'node:crypto';

/** One retained version of a message body. */
export interface VersionEntry {
  version: number;
  /** Its object (null: the cassandra backend, which keeps no old bodies). */
  key: string | null;
  /** SHA-256 (hex) of the body. */
  digest: string;
  size: number;
  /** When this version was written (created or edited). */
  editedAt: Date;
  /** Who held the edit lease when it was written (leaseHolder(token)), null without a lease. */
  lease: string | null;
}

export interface HistoryRetention { maxVersions: number; maxAgeMs: number }

/**
 * The lease holder as history shows it: a digest of the lease token, never the token (whoever reads the history
 * must not be able to edit as the holder); the same token always shows as the same holder.
 */
export const leaseHolder = (token: string | null): string | null =>
  token === null ? null : createHash('sha256').update(token).digest('base64url').slice(0, 16);

interface Wire { v: number; k: string | null; d: string; s: number; t: number; l: string | null }

export function encodeHistory(entries: VersionEntry[]): string {
  return JSON.stringify(entries.map((e): Wire =>
    ({ v: e.version, k: e.key, d: e.digest, s: e.size, t: e.editedAt.getTime(), l: e.lease })));
}

export function decodeHistory(cell: string | null | undefined): VersionEntry[] {
  if (!cell) return [];
  return (JSON.parse(cell) as Wire[]).map((w) =>
    ({ version: w.v, key: w.k, digest: w.d, size: w.s, editedAt: new Date(w.t), lease: w.l }));
}

/** The history after `next` is written: the newest maxVersions entries (the current one always among them). */
export const appendRetained = (history: VersionEntry[], next: VersionEntry, r: HistoryRetention): VersionEntry[] =>
  [...history.filter((e) => e.version < next.version), next].slice(-r.maxVersions);

/** The entries still retained at `now`: within maxVersions and maxAgeMs, the current version always. */
export function retained(history: VersionEntry[], current: number, r: HistoryRetention, now: number): VersionEntry[] {
  return history.slice(-r.maxVersions).filter((e) =>
    e.version === current || r.maxAgeMs === 0 || now - e.editedAt.getTime() <= r.maxAgeMs);
}
