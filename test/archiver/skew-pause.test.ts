import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { log } from '../support/harness.js';
import { bucketOf } from '../../src/storage/time-buckets.js';
import { ClockSkewCheck } from '../../src/storage/clock-skew.js';
import { registry } from '../../src/observability/metrics.js';
import { runArchiver } from '../../src/workers/archiver/run.js';
import { SkewGate } from '../../src/workers/skew-gate.js';
import {
  assertAllArchived, checkpoint, coldRows, config, db, lockRow, recordingDb, archiverKeyspaces, seedExpired,
  setCheckpoint,
} from './support.js';
import { archiverSettings } from '../../src/settings.js';

/**
 * The archiver decides which minute buckets have settled by its own clock: a clock running ahead could sweep a
 * bucket before an acknowledged write landed in it, so a run on a clock out of the skew budget does nothing.
 */
describe('archiver: a run pauses while its clock is out of the skew budget', () => {
  archiverKeyspaces();

  const pausedGauge = async () =>
    /ephemera_worker_clock_paused\{worker="archiver"\} (\d)/.exec(await registry.metrics())?.[1];

  it('when the archiver\'s clock runs 10 s ahead of Cassandra\'s, then the run is "paused" without taking the lock or sweeping; back in bounds, the next run archives the backlog', async () => {
    const backlog = await seedExpired(200, 10, 1);
    const from = bucketOf(backlog[0]!.expiresAt.getTime()) - 1;
    await setCheckpoint(from);
    let aheadMs = 10_000;
    const rec = recordingDb(db);
    // 10 s is 5 x the budget's half (MAX_CLOCK_SKEW_MS 2 s / 2): far outside whatever the round trip's uncertainty.
    const gate = new SkewGate(new ClockSkewCheck(rec.db, config.MAX_CLOCK_SKEW_MS, log, () => Date.now() + aheadMs),
      'archiver', log);

    assert.equal(await runArchiver(rec.db, archiverSettings(config), log, { gate }), 'paused');
    assert.deepEqual([...new Set(rec.calls.map((c) => c.statement))], ['clock_read'], 'only the clock was read');
    assert.equal(await pausedGauge(), '1');
    assert.equal(await lockRow(), null, 'the lock was not taken');
    assert.equal(await checkpoint(), from, 'the checkpoint did not move');
    assert.equal((await coldRows(backlog.map((m) => m.id))).size, 0, 'nothing was archived');

    aheadMs = 0;
    assert.equal(await runArchiver(rec.db, archiverSettings(config), log, { gate }), 'success');
    assert.equal(await pausedGauge(), '0');
    assertAllArchived(backlog, await coldRows(backlog.map((m) => m.id)));
  });
});
