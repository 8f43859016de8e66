import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createBodyStore } from '../bodies/create.js';
import { BodySweeper } from '../chats/body-sweeper.js';
import { chatsStores } from '../chats/data.js';
import { chatsSettings } from '../settings.js';
import type { Db } from '../storage/cassandra.js';
import { startLoop, type Loop } from './loop.js';

/** The configured store's sweeper; null with CHAT_BODY_STORE=cassandra (no objects). */
export function createSweeper(db: Db, config: Config, log: Logger): BodySweeper | null {
  const settings = chatsSettings(config);
  const store = createBodyStore(settings.bodyStore);
  return store && new BodySweeper(store, chatsStores(db).messages, {
    orphanGraceMs: settings.bodies.orphanGraceMs, retention: settings.bodies.retention,
  }, log);
}

/** `ephemera sweep-bodies`: one pass; exit 0 done, 1 failed. */
export async function sweepCommand(config: Config, log: Logger): Promise<number> {
  const { withDb } = await import('../storage/with-db.js');
  try {
    return await withDb(config, log, async (db) => {
      const sweeper = createSweeper(db, config, log);
      if (sweeper === null) {
        log.info('CHAT_BODY_STORE=cassandra: no objects to sweep');
        return 0;
      }
      await sweeper.sweep();
      return 0;
    });
  } catch (err) {
    log.error({ err }, 'body sweep failed');
    return 1;
  }
}

/** The sweeper on a timer inside `serve` (--sweep-every, local development). */
export function startSweeper(db: Db, config: Config, log: Logger, everySeconds: number): Loop {
  const sweeper = createSweeper(db, config, log);
  if (sweeper === null) return { async stop() { /* no objects, no loop */ } };
  return startLoop(async () => {
    await sweeper.sweep().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'body sweep failed'));
  }, everySeconds);
}
