import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { log, testConfig, connectTestDb } from '../support/harness.js';
import { faultyDb } from '../support/faulty-db.js';
import { Db } from '../../src/storage/cassandra.js';
import { ClockSkewCheck } from '../../src/storage/clock-skew.js';
import { registry } from '../../src/observability/metrics.js';
import { startCountsLoop } from '../../src/workers/counts/run.js';
import { SkewGate } from '../../src/workers/skew-gate.js';
import { eventually } from '../search/indexer-support.js';

/** A gate that counts the passes it refused, so the test waits for refusals instead of for wall-clock time. */
class CountingGate extends SkewGate {
  refused = 0;
  override async open(): Promise<boolean> {
    const ok = await super.open();
    if (!ok) this.refused++;
    return ok;
  }
}

/**
 * The counts worker decides which change-log buckets settled by its own clock: a clock running ahead could walk a
 * bucket before an acknowledged append landed in it, so no pass runs while the clock is out of the skew budget.
 */
describe('counts worker: passes pause while the clock is out of the skew budget', () => {
  let db: Db;
  before(async () => { db = await connectTestDb(); });
  after(async () => { await db?.shutdown(); });

  const pausedGauge = async () =>
    /ephemera_worker_clock_paused\{worker="counts"\} (\d)/.exec(await registry.metrics())?.[1];
  /** Log passes so far, whatever their result (a failed or locked pass ran too). */
  const logPasses = async () => [...(await registry.metrics())
    .matchAll(/^ephemera_counts_runs_total\{kind="log",result="\w+"\} (\d+)/gm)]
    .reduce((sum, m) => sum + Number(m[1]), 0);

  it('when the counts worker\'s clock runs 10 s ahead of Cassandra\'s, then its ticks send nothing but clock reads and the gauge says paused; back in bounds, passes resume', async () => {
    const sent: string[] = [];
    const faulty = faultyDb(db, { beforeSend: (st) => { sent.push(st); } });
    let aheadMs = 10_000;
    const config = testConfig();
    // 10 s is 5 x the budget's half (MAX_CLOCK_SKEW_MS 2 s / 2): far outside whatever the round trip's uncertainty.
    const gate = new CountingGate(new ClockSkewCheck(faulty.db, config.MAX_CLOCK_SKEW_MS, log, () => Date.now() + aheadMs),
      'counts', log);
    const before = await logPasses();
    // A reconciliation never comes due (a period longer than the epoch), so only log passes are in question.
    const loop = startCountsLoop(faulty.db, {
      holder: 'counts-skew-test', lockTtlSeconds: 30, logRetentionSeconds: 3600, maxClockSkewMs: config.MAX_CLOCK_SKEW_MS,
    }, log, { everySeconds: 1, reconcileSeconds: Number.MAX_SAFE_INTEGER, gate });
    try {
      // Three ticks refused: with the gate ignored, the first of them would have run a pass.
      await eventually(async () => gate.refused, (n) => n >= 3, 60_000);
      assert.deepEqual([...new Set(sent)], ['clock_read'], 'only the clock was read while paused');
      assert.equal(await logPasses(), before, 'no log pass ran while paused');
      assert.equal(await pausedGauge(), '1');

      aheadMs = 0;
      // The next tick (1 s) runs a pass; a loaded machine may make it slow, so the wait is generous.
      await eventually(logPasses, (n) => n > before, 120_000);
      assert.equal(await pausedGauge(), '0');
      assert.ok(sent.some((st) => st !== 'clock_read'), 'the pass read the change log');
    } finally {
      await loop.stop();
    }
  });
});
