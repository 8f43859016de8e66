/**
 * A cluster-wide "one at a time" lease, whoever keeps it: a lightweight transaction on the `locks` table or a
 * Kubernetes Lease. The work done under it checks it before every write and stops with LockLost once it lapsed.
 */
export interface Lease {
  readonly holder: string;
  tryAcquire(): Promise<boolean>;
  /** false when the lease was lost (taken over or expired). */
  renew(): Promise<boolean>;
  release(): Promise<void>;
}

/** The one "lock lost" error: the lease `name` can no longer be counted on, so the work stops before its next write. */
export class LockLost extends Error {
  constructor(name: string, reason: string) { super(`${name} lock lost (${reason}); stopping before the next write`); }
}
