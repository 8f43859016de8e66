import type { Logger } from '../../logger.js';
import { AppError } from '../../errors.js';
import { CHANGE_LOG } from '../../chats/changes.js';
import { logConsumerLag } from '../../observability/metrics.js';
import {
  searchIndexerLag, searchIndexerRuns, searchReconcileLastSuccess, searchReconcileRuns,
} from '../../observability/search-metrics.js';
import type { SearchSettings } from '../../search/search.js';
import type { IndexerSettings, SearchIndexerWorker } from './indexer-worker.js';
import type { SearchReconciler, SearchReconcileSettings } from './search-reconcile.js';
import type { SkewGate } from '../skew-gate.js';
import { startLoop, type Loop } from '../loop.js';

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

/** One search reconciliation (every application, or one), with its metrics. */
export async function searchReconcilePass(reconciler: SearchReconciler, log: Logger, token?: string, stop?: AbortSignal):
  Promise<'success' | 'failure' | 'locked'> {
  const started = Date.now();
  let result: 'success' | 'failure' | 'locked';
  try {
    const done = await reconciler.reconcile(token, stop);
    result = done === null ? 'locked' : 'success';
    if (done !== null) {
      searchReconcileLastSuccess.set(Date.now() / 1000);
      log.info({ ...done, durationMs: Date.now() - started }, 'search reconciled');
    }
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'search reconciliation failed');
    result = 'failure';
  }
  searchReconcileRuns.inc({ result });
  return result;
}

/** What the search indexer of a process needs (settings.ts maps it). */
export interface IndexerProcessSettings {
  worker: IndexerSettings;
  reconcile: SearchReconcileSettings;
  /** SEARCH_RECONCILE_SECONDS. */
  reconcileSeconds: number;
  /** The OpenSearch client and index, when the process builds its own. */
  search: SearchSettings;
}

export interface IndexerLoopOptions {
  /** Passes wait while this process's clock is out of the skew budget. */
  gate?: SkewGate;
  /** A search reconciliation at start and every `everySeconds`, beside the passes (it does not hold them up). */
  reconcile?: { reconciler: SearchReconciler; everySeconds: number };
}

/**
 * The indexer as a loop (the `ephemera index` command, and a timer inside `serve --index-every` for local runs):
 * a pass every `everySeconds` on the one worker loop (workers/loop.ts), one at a time. Several processes may run it:
 * the consumer's LWT lock makes the others skip a pass. After failed passes the next waits up to 8 ticks
 * (OpenSearch restarting).
 */
export function startIndexerLoop(worker: SearchIndexerWorker, consumer: string, log: Logger, everySeconds: number,
  opts: IndexerLoopOptions = {}): Loop {
  let reconciling: Promise<unknown> | null = null;
  let lastReconcile = 0;
  const stopping = new AbortController();
  const loop = startLoop(async () => {
    if (!(await (opts.gate?.open() ?? true))) return;
    const r = await indexerPass(worker, consumer, log);
    const reconcile = opts.reconcile;
    if (reconcile && !reconciling && Date.now() - lastReconcile >= reconcile.everySeconds * 1000) {
      lastReconcile = Date.now();
      reconciling = searchReconcilePass(reconcile.reconciler, log, undefined, stopping.signal).finally(() => { reconciling = null; });
    }
    return r;
  }, everySeconds, { backoff: true });
  log.info({ everySeconds, consumer }, 'search indexer on');
  return {
    async stop() {
      stopping.abort();
      await loop.stop();
      await reconciling;
      opts.gate?.stop();
    },
  };
}

function setLag(consumer: string, seconds: number): void {
  searchIndexerLag.set(seconds);
  logConsumerLag.set({ log: CHANGE_LOG.name, consumer }, seconds);
}
