import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { check, errorBurst } from './checker.js';
import { cluster, HANG_BOUND_MS, sleep, unreadable } from './cluster-control.js';
import { withEvidence } from './evidence.js';
import { publish } from './report.js';
import { assertNoAnomalies, ringServices, settleScenario, startScenario } from './scenario.js';

/**
 * Errors at the kill and at the rejoin: at most 1 % of the requests completed in each window (issue 27's bound).
 * Not their time span: with CQL opened only once the ring is complete, what is left are isolated Paxos timeouts
 * of a loaded machine ("0 peer(s) acknowledged"), e.g. 2 in 7,551 requests 44 s apart, which a span bound failed.
 */
const ERROR_SHARE = 0.01;

describe('one Cassandra node SIGKILLed under load (RF 3, LOCAL_QUORUM)', () => {
  const services = ringServices();

  it('when a node is killed mid-load and restarted, then nothing acknowledged is lost or delivered twice, errors come as a short burst at the kill and at the rejoin, and every acknowledged write reads back at LOCAL_QUORUM', async (t) => {
    const { a, b } = services;
    const scenario = await startScenario('node-kill', 'kill', services);
    const { h, marks } = scenario;

    await sleep(8_000);
    h.mark('kill node 2');
    const killAt = h.now();
    await cluster('kill', '2');
    await sleep(15_000);
    h.mark('start node 2');
    const startAt = h.now();
    const t0 = Date.now();
    await cluster('start', '2');
    const restartMs = Date.now() - t0;
    h.mark('node 2 UN');
    await sleep(8_000);
    const search = await settleScenario(scenario, a.url);

    const report = check(h.events);
    // Two transitions can each cost errors: the node dying (statements in flight on its sockets), and the node
    // coming back (Paxos rounds that include it while it is still slow).
    const burst = errorBurst(h.events, killAt, startAt);
    const rejoin = errorBurst(h.events, startAt);
    const unread = await unreadable(a.url, h.events);
    publish(t, 'node-kill', report, { burst, rejoin, restartMs, unreadable: unread, search, history: h.file });

    await withEvidence(h.file, [a, b], marks, () => {
      assert.ok(report.inbox.acknowledged >= 100, `a real load ran (${report.inbox.acknowledged} acknowledged)`);
      assertNoAnomalies(report, unread, search);
      for (const [what, b] of [['the kill', burst], ['the rejoin', rejoin]] as const) {
        assert.ok(b.errors <= Math.ceil(b.requests * ERROR_SHARE),
          `errors after ${what}: ${b.errors} of ${b.requests} requests (span ${b.spanMs} ms, recovered after ${b.recoverMs} ms)`);
        assert.ok(b.slowestMs <= HANG_BOUND_MS, `no request hung after ${what} (slowest ${b.slowestMs} ms, bound ${HANG_BOUND_MS})`);
      }
    });
  });
});
