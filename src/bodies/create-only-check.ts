import { randomBytes } from 'node:crypto';
import { BodyStoreUnavailable, ObjectExists, type BodyStore } from './body-store.js';
import { PROBES, sha256Hex } from './keys.js';

/** The store accepted a second create-only write to one key: it would let an object be replaced. */
export class CreateOnlyNotEnforced extends Error {}

/**
 * Proves that the store refuses a second create-only write to a key (If-None-Match: * on S3, link(2) on fs):
 * writes a probe object, writes it again (must be refused), reads it back (must be the first bytes), deletes
 * it. Throws CreateOnlyNotEnforced when the store overwrote it (the service must not start on such a store:
 * a retried or racing upload could replace a body a row points to), BodyStoreUnavailable when it cannot tell.
 */
export async function checkCreateOnly(store: BodyStore): Promise<void> {
  const key = `${PROBES}${Date.now()}-${randomBytes(8).toString('hex')}`;
  const first = Buffer.from(`create-only probe ${key} 1`);
  const second = Buffer.from(`create-only probe ${key} 2`);
  await store.putNew(key, first, sha256Hex(first));
  try {
    let refused = false;
    try {
      await store.putNew(key, second, sha256Hex(second));
    } catch (err) {
      if (!(err instanceof ObjectExists)) throw err;
      refused = true;
    }
    const back = await store.get(key);
    if (!refused || back === null || !back.equals(first)) {
      throw new CreateOnlyNotEnforced(`the ${store.kind} body store ${refused ? 'lost' : 'overwrote'} a create-only `
        + 'object (If-None-Match: * is not enforced): refusing to store message bodies in it');
    }
  } finally {
    await store.delete(key).catch((err: unknown) => {
      if (!(err instanceof BodyStoreUnavailable)) throw err;
    });
  }
}
