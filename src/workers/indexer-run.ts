import type { Logger } from '../logger.js';
import { AppError } from '../errors.js';
import { CHANGE_LOG } from '../chats/changes.js';
import { logConsumerLag } from '../observability/chat-metrics.js';
import { searchIndexerLag, searchIndexerRuns } from '../observability/search-metrics.js';
import type { SearchIndexerWorker } from './indexer.js';

export type PassResult = 'success' | 'failure' | 'unavailable' | 'locked';

/**
 * One pass over the change log, with its metrics. `unavailable`: OpenSearch could not take a bucket; the
 * checkpoint stayed before it and the next pass repeats it.
 */
export async function indexerPass(worker: SearchIndexerWorker, consumer: string, log: Logger, now?: number):
  Promise<PassResult> {
  let result: PassResult;
  try {
    const pass = await worker.consumeLog(now);
    if (pass === null) {
      result = 'locked';
    } else {
      setLag(consumer, pass.lagSeconds);
      if (pass.entries > 0) log.debug({ buckets: pass.buckets, entries: pass.entries }, 'indexer pass done');
      searchIndexerRuns.inc({ result: 'success' });
      return 'success';
    }
  } catch (err) {
    const unavailable = err instanceof AppError && err.status === 503;
    result = unavailable ? 'unavailable' : 'failure';
    log.warn({ err: (err as Error).message }, unavailable ? 'search unavailable; indexer retries the bucket'
      : 'indexer pass failed');
  }
  const lag = await worker.lagSeconds().catch(() => null);
  if (lag !== null) setLag(consumer, lag);
  searchIndexerRuns.inc({ result });
  return result;
}

/**
 * The indexer as a loop (the `ephemera index` command, and a timer inside `serve --index-every` for local runs):
 * a pass every `everySeconds`, one at a time. Several processes may run it: the consumer's LWT lock makes the
 * others skip a pass. After failed passes the next waits up to 8 ticks (OpenSearch restarting).
 */
export function startIndexerLoop(worker: SearchIndexerWorker, consumer: string, log: Logger, everySeconds: number):
  { stop(): Promise<void> } {
  let running: Promise<unknown> | null = null;
  let skip = 0;
  let backoff = 0;
  const tick = () => {
    if (running) return;
    if (skip > 0) { skip--; return; }
    running = indexerPass(worker, consumer, log)
      .then((r) => {
        // Consecutive failed passes skip 0, 1, 3, then 7 ticks before the next try.
        backoff = r === 'unavailable' || r === 'failure' ? Math.min(8, backoff * 2 || 1) : 0;
        skip = Math.max(0, backoff - 1);
      })
      .finally(() => { running = null; });
  };
  const timer = setInterval(tick, everySeconds * 1000);
  log.info({ everySeconds, consumer }, 'search indexer on');
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

function setLag(consumer: string, seconds: number): void {
  searchIndexerLag.set(seconds);
  logConsumerLag.set({ log: CHANGE_LOG.name, consumer }, seconds);
}
