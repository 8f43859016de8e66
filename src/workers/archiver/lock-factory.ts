import type { Logger } from '../../logger.js';
import type { Db } from '../../storage/cassandra.js';
import { CassandraArchiverLock } from './cassandra-lock.js';
import { KubernetesLeaseLock, type KubernetesLeaseSettings } from './kubernetes-lock.js';
import type { Lease } from '../../storage/lease.js';

/** The archiver's lock (settings.ts maps it). */
export interface ArchiverLockSettings {
  /** processIdentity(POD_NAME, 'archiver'). */
  holder: string;
  /** ARCHIVER_LOCK. */
  kind: 'auto' | 'kubernetes' | 'cassandra';
  /** ARCHIVER_LOCK_TTL_SECONDS. */
  ttlSeconds: number;
  kubernetes: KubernetesLeaseSettings;
}

/** A Kubernetes Lease inside a cluster (or when asked), else an LWT row in Cassandra. */
export async function createArchiverLock(db: Db, settings: ArchiverLockSettings, log: Logger): Promise<Lease> {
  const kind = settings.kind === 'auto'
    ? (settings.kubernetes.serviceHost ? 'kubernetes' : 'cassandra')
    : settings.kind;
  if (kind === 'kubernetes') return KubernetesLeaseLock.create(settings.kubernetes, log, settings.holder);
  return new CassandraArchiverLock(db, settings.holder, settings.ttlSeconds);
}
