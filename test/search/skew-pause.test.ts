import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { log, testConfig, connectTestDb } from '../support/harness.js';
import { sleep } from '../support/faulty-db.js';
import { Db } from '../../src/storage/cassandra.js';
import { ClockSkewCheck } from '../../src/storage/clock-skew.js';
import { registry } from '../../src/observability/metrics.js';
import { startIndexerLoop } from '../../src/workers/indexer/run.js';
import { SkewGate } from '../../src/workers/skew-gate.js';
import { eventually, indexerPrefix, indexerWorker } from './indexer-support.js';
import { dropIndex, freshIndex } from './support.js';

/** Derived-work loops decide which buckets settled by their own clock: they must not run on a clock out of bounds. */
describe('derived work pauses while the clock is out of the skew budget', () => {
  let db: Db;
  before(async () => { db = await connectTestDb(); });
  after(async () => { await db?.shutdown(); });

  const pausedGauge = async () =>
    /ephemera_worker_clock_paused\{worker="indexer"\} (\d)/.exec(await registry.metrics())?.[1];
  /** Indexer passes so far, by result (a pass that failed counts too: it ran). */
  const passes = async () => {
    const text = await registry.metrics();
    return Object.fromEntries([...text.matchAll(/^ephemera_search_indexer_runs_total\{result="(\w+)"\} (\d+)/gm)]
      .map((m) => [m[1], Number(m[2])]));
  };
  const total = (runs: Record<string, number>) => Object.values(runs).reduce((a, b) => a + b, 0);

  it('when the indexer\'s clock runs 10 s ahead of Cassandra\'s, then no pass runs and the gauge says paused; back in bounds, passes resume', async () => {
    const prefix = indexerPrefix();
    const { worker, consumer, search } = indexerWorker(db, prefix);
    // Its own index, so a pass can take whatever the keyspace's change log holds from earlier suites: without one,
    // a pass fails (503, no alias to write to) at the first bucket holding an entry, and when that is the first
    // bucket of its hour-long backlog, no checkpoint is ever written.
    await freshIndex(search, prefix);
    let aheadMs = 10_000;
    const check = new ClockSkewCheck(db, testConfig().MAX_CLOCK_SKEW_MS, log, () => Date.now() + aheadMs);
    const loop = startIndexerLoop(worker, consumer, log, 1, { gate: new SkewGate(check, 'indexer', log) });
    try {
      const before = await passes();
      await sleep(3_500);
      assert.equal(await worker.changes.checkpoint(consumer), null, 'no pass walked the log');
      assert.equal(total(await passes()), total(before), 'no pass ran while paused');
      assert.equal(await pausedGauge(), '1');
      aheadMs = 0;
      // Passes resume at the next tick (1 s). On a loaded CI machine a pass can fail (a Cassandra timeout) and the
      // loop then backs off up to 8 ticks, so the wait is generous; it ends as soon as the checkpoint exists.
      await eventually(passes, (runs) => total(runs) > total(before), 60_000);
      assert.equal(await pausedGauge(), '0');
      await eventually(() => worker.changes.checkpoint(consumer), (c) => c !== null, 120_000)
        .catch(async (err: Error) => assert.fail(`no pass walked the log once the clock was back (${err.message}); passes: ${JSON.stringify(await passes())}`));
    } finally {
      await loop.stop();
      await dropIndex(search, prefix);
    }
  });
});
