import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { check, errorBurst } from './checker.js';
import { cluster, sleep, unreadable } from './cluster-control.js';
import { withEvidence } from './evidence.js';
import { publish } from './report.js';
import { assertNoAnomalies, ringServices, settleScenario, startScenario } from './scenario.js';

/**
 * A silent partition (dropped packets, no reset) costs a statement its full 2 s client timeout before the driver
 * gives the node up, and a list runs several statements in sequence: measured slowest, see docs/design.md.
 */
const PARTITION_SLOWEST_MS = 10_000;

describe('one Cassandra node partitioned from its peers and the clients (RF 3, LOCAL_QUORUM)', () => {
  let healed = true;
  const services = ringServices({
    undo: async () => { if (!healed) await cluster('heal', '3'); },
    restoreRing: false,
  });

  it('when a node is cut off mid-load and then healed, then delivery stays exactly-once, nothing acknowledged is lost, and no request hangs', async (t) => {
    const { a, b } = services;
    const scenario = await startScenario('partition', 'part', services);
    const { h, marks } = scenario;

    await sleep(6_000);
    const cutAt = h.now();
    healed = false;
    // scripts/dev/cluster.sh says how: "iptables" (packets to and from the node dropped) or "nodetool" (gossip and
    // CQL port disabled), when netfilter is not available.
    const method = await cluster('partition', '3');
    h.mark(`partition node 3 (${method})`);
    await sleep(20_000);
    h.mark('heal node 3');
    const t0 = Date.now();
    await cluster('heal', '3');
    healed = true;
    const healMs = Date.now() - t0;
    await sleep(8_000);
    const search = await settleScenario(scenario, a.url);

    const report = check(h.events);
    const burst = errorBurst(h.events, cutAt);
    const unread = await unreadable(a.url, h.events);
    publish(t, 'partition', report, { method: method.split('\n').pop(), burst, healMs, unreadable: unread, search, history: h.file });

    await withEvidence(h.file, [a, b], marks, () => {
      assert.ok(report.inbox.acknowledged >= 100, `a real load ran (${report.inbox.acknowledged} acknowledged)`);
      assertNoAnomalies(report, unread, search);
      assert.ok(burst.slowestMs <= PARTITION_SLOWEST_MS, `no request hung (slowest ${burst.slowestMs} ms)`);
    });
  });
});
