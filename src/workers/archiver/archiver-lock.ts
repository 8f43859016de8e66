/** A cluster-wide "one archiver at a time" lease. */
export interface ArchiverLock {
  readonly holder: string;
  tryAcquire(): Promise<boolean>;
  /** false when the lease was lost (taken over or expired). */
  renew(): Promise<boolean>;
  release(): Promise<void>;
}
