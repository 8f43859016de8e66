import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { Db } from '../../storage/cassandra.js';
import { processIdentity } from '../../process-identity.js';
import { CassandraArchiverLock } from './cassandra-lock.js';
import { KubernetesLeaseLock } from './kubernetes-lock.js';
import type { Lease } from '../../storage/lease.js';


export type LockSettings = Pick<Config, 'POD_NAME' | 'ARCHIVER_LOCK' | 'ARCHIVER_LOCK_TTL_SECONDS'
  | 'KUBERNETES_SERVICE_HOST' | 'LEASE_NAME' | 'POD_NAMESPACE'>;

/** A Kubernetes Lease inside a cluster (or when asked), else an LWT row in Cassandra. */
export async function createArchiverLock(db: Db, config: LockSettings, log: Logger): Promise<Lease> {
  const holder = processIdentity(config.POD_NAME, 'archiver');
  const kind = config.ARCHIVER_LOCK === 'auto'
    ? (config.KUBERNETES_SERVICE_HOST ? 'kubernetes' : 'cassandra')
    : config.ARCHIVER_LOCK;
  if (kind === 'kubernetes') return KubernetesLeaseLock.create(config, log, holder);
  return new CassandraArchiverLock(db, holder, config.ARCHIVER_LOCK_TTL_SECONDS);
}
