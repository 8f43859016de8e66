import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { check } from './checker.js';
import { cluster, HANG_BOUND_MS, sleep, unreadable, untilServing } from './cluster-control.js';
import { withEvidence } from './evidence.js';
import { type HistoryEvent } from './history.js';
import { publish } from './report.js';
import { assertNoAnomalies, ringServices, settleScenario, startScenario } from './scenario.js';

/** Completions of operations invoked inside [from, to). */
function completedWithin(events: HistoryEvent[], from: number, to: number): Array<HistoryEvent & { latency: number }> {
  const invoked = new Map<number, number>();
  const out: Array<HistoryEvent & { latency: number }> = [];
  for (const e of events) {
    if (e.f === 'fault' || e.f === 'drain' || e.f === 'read') continue;
    if (e.type === 'invoke') { if (e.at >= from && e.at < to) invoked.set(e.op, e.at); continue; }
    const at = invoked.get(e.op);
    if (at !== undefined) out.push({ ...e, latency: e.at - at });
  }
  return out;
}

describe('two of three Cassandra nodes down under load (RF 3, LOCAL_QUORUM)', () => {
  const services = ringServices();

  it('when two nodes are down, then every request fails fast with 503 and nothing is acknowledged; when one returns, the service resumes by itself and nothing acknowledged is lost', async (t) => {
    const { a, b } = services;
    const scenario = await startScenario('quorum-loss', 'quorum', services);
    const { users, h, marks } = scenario;

    await sleep(6_000);
    h.mark('kill nodes 2 and 3');
    await Promise.all([cluster('kill', '2'), cluster('kill', '3')]);
    const downAt = h.now();
    await sleep(12_000);
    h.mark('start node 2');
    const startAt = h.now();
    const t0 = Date.now();
    await cluster('start', '2');
    const restartMs = Date.now() - t0;
    const resumeMs = Math.max(await untilServing(a.url, users[0]!, 60_000), await untilServing(b.url, users[0]!, 60_000));
    h.mark('serving again');
    await sleep(5_000);
    const search = await settleScenario(scenario, a.url);

    const during = completedWithin(h.events, downAt, startAt);
    const statuses = new Map<string, number>();
    for (const e of during) statuses.set(String(e.status ?? e.error), (statuses.get(String(e.status ?? e.error)) ?? 0) + 1);
    const slowest = Math.max(0, ...during.map((e) => e.latency));
    const report = check(h.events);
    const unread = await unreadable(a.url, h.events);
    publish(t, 'quorum-loss', report, {
      duringOutage: Object.fromEntries(statuses), slowestDuringOutageMs: Math.round(slowest), restartMs, resumeMs,
      unreadable: unread, search, history: h.file,
    });

    await withEvidence(h.file, [a, b], marks, () => {
      assert.ok(during.length >= 20, `requests ran during the outage (${during.length})`);
      assert.deepEqual([...statuses.keys()], ['503'], 'every request during the outage answered 503');
      assert.ok(slowest <= HANG_BOUND_MS, `no request hung past the request timeout (slowest ${slowest} ms, bound ${HANG_BOUND_MS})`);
      assertNoAnomalies(report, unread, search);
    });
  });
});
