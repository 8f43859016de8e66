import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createBodyStore } from '../bodies/create.js';
import { BodySweeper } from '../chats/body-sweeper.js';
import { chatsStores } from '../chats/data.js';
import { chatsSettings } from '../settings.js';
import type { Db } from '../storage/cassandra.js';

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
  const { Db } = await import('../storage/cassandra.js');
  const db = new Db(config, log);
  try {
    await db.connect();
    const sweeper = createSweeper(db, config, log);
    if (sweeper === null) {
      log.info('CHAT_BODY_STORE=cassandra: no objects to sweep');
      return 0;
    }
    await sweeper.sweep();
    return 0;
  } catch (err) {
    log.error({ err }, 'body sweep failed');
    return 1;
  } finally {
    await db.shutdown();
  }
}

/** The sweeper on a timer inside `serve` (--sweep-every, local development). */
export function startSweeper(db: Db, config: Config, log: Logger, everySeconds: number): { stop(): Promise<void> } {
  const sweeper = createSweeper(db, config, log);
  let running: Promise<unknown> | null = null;
  const timer = sweeper === null ? null : setInterval(() => {
    if (running) return;
    running = sweeper.sweep().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'body sweep failed'))
      .finally(() => { running = null; });
  }, everySeconds * 1000);
  return { async stop() { if (timer) clearInterval(timer); await running; } };
}
