import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { check, errorBurst } from './checker.js';
import { cluster, CLUSTER_ENV, REQUEST_TIMEOUT_MS, sleep, unreadable } from './cluster-control.js';
import { withEvidence } from './evidence.js';
import { publish } from './report.js';
import { assertNoAnomalies, ringServices, settleScenario, startScenario } from './scenario.js';

/**
 * Longer than the service's request timeout (5 s) and than the driver's per-statement timeout (2 s, the server's
 * write_request_timeout): a GC pause or a frozen VM that every in-flight statement on the node outlives.
 */
const PAUSE_MS = 8_000;

/**
 * What bounds a request while a node is frozen. Nothing cuts a request at REQUEST_TIMEOUT_MS itself: each statement
 * sent to the frozen node waits out the driver's 2 s timeout, and the driver closes that connection after
 * CASSANDRA_DEFUNCT_READ_TIMEOUTS (3, CLUSTER_ENV) of them, so a request in flight at the freeze can wait up to
 * 3 × 2 s before its statements go elsewhere (an edit and a list took 6.5 s in a run on 2026-12-07; 4.6 s in
 * another). Past that bound a request did hang.
 */
const HANG_BOUND_MS = Math.max(REQUEST_TIMEOUT_MS, Number(CLUSTER_ENV.CASSANDRA_DEFUNCT_READ_TIMEOUTS) * 2_000) + 1_000;

describe('one Cassandra node paused (SIGSTOP) past the request timeout under load, then resumed (RF 3, LOCAL_QUORUM)', () => {
  let paused = false;
  const services = ringServices({ undo: async () => { if (paused) await cluster('resume', '2'); } });

  it('when a node freezes longer than the request timeout and wakes up, then nothing acknowledged is lost or given twice, and no request hangs past the request timeout', async (t) => {
    const { a, b } = services;
    const scenario = await startScenario('node-pause', 'pause', services);
    const { h, marks } = scenario;

    await sleep(6_000);
    h.mark('pause node 2');
    const pauseAt = h.now();
    paused = true;
    await cluster('pause', '2');
    await sleep(PAUSE_MS);
    h.mark('resume node 2');
    const resumeAt = h.now();
    await cluster('resume', '2');
    paused = false;
    // The ring condition of a restart, checked again: node 2 sees its peers UN and they see it UN.
    await cluster('start', '2');
    h.mark('node 2 UN');
    await sleep(8_000);
    const search = await settleScenario(scenario, a.url);

    const report = check(h.events);
    const burst = errorBurst(h.events, pauseAt, resumeAt);
    const wake = errorBurst(h.events, resumeAt);
    const unread = await unreadable(a.url, h.events);
    publish(t, 'node-pause', report, { burst, wake, unreadable: unread, search, history: h.file });

    await withEvidence(h.file, [a, b], marks, () => {
      assert.ok(report.inbox.acknowledged >= 100, `a real load ran (${report.inbox.acknowledged} acknowledged)`);
      assertNoAnomalies(report, unread, search);
      for (const [what, b] of [['the pause', burst], ['the wake-up', wake]] as const) {
        assert.ok(b.slowestMs <= HANG_BOUND_MS, `no request hung after ${what} (slowest ${b.slowestMs} ms, bound ${HANG_BOUND_MS})`);
      }
    });
  });
});
