import type { Logger } from '../logger.js';
import type { BodyStoreSettings } from '../bodies/settings.js';
import { createBodyStore } from '../bodies/create.js';
import { BodySweeper, type SweepSettings } from '../chats/body-sweeper.js';
import { chatsStores } from '../chats/data.js';
import type { Db } from '../storage/cassandra.js';
import { startLoop, type Loop } from './loop.js';

/** What the body sweeper needs (settings.ts maps it): the configured store and its grace and retention. */
export interface SweeperSettings { bodyStore: BodyStoreSettings; sweep: SweepSettings }

/** The configured store's sweeper; null with CHAT_BODY_STORE=cassandra (no objects). */
export function createSweeper(db: Db, settings: SweeperSettings, log: Logger): BodySweeper | null {
  const store = createBodyStore(settings.bodyStore);
  return store && new BodySweeper(store, chatsStores(db).messages, settings.sweep, log);
}

/** The sweeper on a timer inside `serve` (--sweep-every, local development). */
export function startSweeper(db: Db, settings: SweeperSettings, log: Logger, everySeconds: number): Loop {
  const sweeper = createSweeper(db, settings, log);
  if (sweeper === null) return { async stop() { /* no objects, no loop */ } };
  return startLoop(async () => {
    await sweeper.sweep().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'body sweep failed'));
  }, everySeconds);
}
