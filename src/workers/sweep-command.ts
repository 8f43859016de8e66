import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { cassandraSettings, sweeperSettings } from '../settings.js';
import { createSweeper } from './sweeper.js';

/**
 * `ephemera sweep-bodies`: one pass; exit 0 done, 1 failed. Like every command, a root: it takes the whole Config
 * from cli.ts and maps it at once (settings.ts).
 */
export async function sweepCommand(config: Config, log: Logger): Promise<number> {
  const { withDb } = await import('../storage/with-db.js');
  try {
    return await withDb(cassandraSettings(config), log, async (db) => {
      const sweeper = createSweeper(db, sweeperSettings(config), log);
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
