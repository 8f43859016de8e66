import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ensureSchema, log, testConfig } from '../support/harness.js';
import { sleep } from '../support/faulty-db.js';
import { Db } from '../../src/storage/cassandra.js';
import { ClockSkewCheck } from '../../src/storage/clock-skew.js';
import { registry } from '../../src/observability/metrics.js';
import { startIndexerLoop } from '../../src/workers/indexer-run.js';
import { SkewGate } from '../../src/workers/skew-gate.js';
import { indexerPrefix, indexerWorker } from './indexer-support.js';

/** Derived-work loops decide which buckets settled by their own clock: they must not run on a clock out of bounds. */
describe('derived work pauses while the clock is out of the skew budget', () => {
  let db: Db;
  before(async () => {
    await ensureSchema();
    db = new Db(testConfig(), log);
    await db.connect();
  });
  after(async () => { await db?.shutdown(); });

  const pausedGauge = async () =>
    /ephemera_worker_clock_paused\{worker="indexer"\} (\d)/.exec(await registry.metrics())?.[1];

  it('when the indexer\'s clock runs 10 s ahead of Cassandra\'s, then no pass runs and the gauge says paused; back in bounds, passes resume', async () => {
    const { worker, consumer } = indexerWorker(db, indexerPrefix());
    let aheadMs = 10_000;
    const check = new ClockSkewCheck(db, testConfig().MAX_CLOCK_SKEW_MS, log, () => Date.now() + aheadMs);
    const loop = startIndexerLoop(worker, consumer, log, 1, { gate: new SkewGate(check, 'indexer', log) });
    try {
      await sleep(3_500);
      assert.equal(await worker.changes.checkpoint(consumer), null, 'no pass walked the log');
      assert.equal(await pausedGauge(), '1');
      aheadMs = 0;
      const deadline = Date.now() + 20_000;
      while (await worker.changes.checkpoint(consumer) === null && Date.now() < deadline) await sleep(500);
      assert.notEqual(await worker.changes.checkpoint(consumer), null, 'a pass ran once the clock was back');
      assert.equal(await pausedGauge(), '0');
    } finally {
      await loop.stop();
    }
  });
});
