import type { LwtLock } from './lwt-lock.js';
import type { Clock } from '../clock.js';
import { LockLost } from './lease.js';

export { LockLost };


/**
 * An `assertHeld` for work done under an LwtLock: it passes at once while the last acquire or renewal was sent
 * less than a third of the TTL ago (the lock then holds for two thirds of the TTL more, 20 s of a 30 s lock), and
 * otherwise renews first; one renewal at a time, shared by every caller waiting for it. A walk writing every few
 * milliseconds thus sends one LWT per TTL/3, not one per write. A refused renewal throws LockLost, then and on every
 * later call.
 */
export function renewingGuard(lock: Pick<LwtLock, 'name' | 'renew'>, ttlSeconds: number, acquireSentAt: number,
  clock: Clock = Date.now): () => Promise<void> {
  let sentAt = acquireSentAt;
  let lost = false;
  let renewing: Promise<void> | null = null;
  const renew = async () => {
    const at = clock();
    if (await lock.renew()) sentAt = at;
    else lost = true;
  };
  return async () => {
    if (!lost && clock() - sentAt >= (ttlSeconds * 1000) / 3) {
      renewing ??= renew().finally(() => { renewing = null; });
      await renewing;
    }
    if (lost) throw new LockLost(lock.name, 'renewal refused');
  };
}
