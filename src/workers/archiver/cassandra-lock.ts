import type { Db } from '../../storage/cassandra.js';
import { LwtLock } from '../../storage/lwt-lock.js';
import type { Lease } from '../../storage/lease.js';

/**
 * The archiver lock as an LWT row. LwtLock already recognises its own acquire in a "not applied" answer and
 * settles a timed-out one with a SERIAL read, so this is a thin adapter.
 */
export class CassandraArchiverLock implements Lease {
  private readonly lock: LwtLock;
  constructor(db: Db, readonly holder: string, ttlSeconds: number, name = 'archiver') {
    this.lock = new LwtLock(db, name, holder, ttlSeconds);
  }
  tryAcquire() { return this.lock.tryAcquire(); }
  renew() { return this.lock.renew(); }
  release() { return this.lock.release(); }
}
