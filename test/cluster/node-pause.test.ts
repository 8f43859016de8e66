import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { check, errorBurst } from './checker.js';
import { cluster, HANG_BOUND_MS, sleep, unreadable } from './cluster-control.js';
import { withEvidence } from './evidence.js';
import { publish } from './report.js';
import { assertNoAnomalies, ringServices, settleScenario, startScenario } from './scenario.js';

/**
 * Longer than the service's request timeout (5 s) and than the driver's per-statement timeout (2 s, the server's
 * write_request_timeout): a GC pause or a frozen VM that every in-flight statement on the node outlives.
 */
const PAUSE_MS = 8_000;

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
