import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import cassandra from 'cassandra-driver';
import { ADDRESSES, cluster, sleep } from './cluster-control.js';

const { policies, types } = cassandra;

/**
 * The harness defect behind the node-kill run of 2026-11-29 (issue 27): a ring node restarted with the single dev
 * node's quick-start flags knew none of its peers, opened CQL before gossip, and decided Paxos rounds with an
 * electorate of one, on its pre-kill data. Here the restarted node is kept from ever hearing its peers (their
 * gossip is disabled, so they ignore its SYNs: the storage port blocked, without touching the host's network),
 * and a client pinned to it must never read the counter as it was before the kill.
 */
const KEYSPACE = 'ring_restart';
const NODE = 2;
const HOST = ADDRESSES[NODE - 1]!;
const PEERS = [1, 3];
/** Advances made while the node is down: the stale value it holds is 0, the ring's is this. */
const ADVANCES = 50;
/** A fresh row per run: no Paxos state of an earlier run (or of the old harness) can speak for this one. */
const KEY = Math.floor(Math.random() * 2 ** 31);
/** How long the node is watched without peers: the old harness opened CQL ~12 s after the JVM started (review 2.2). */
const WATCH_MS = 30_000;

function client(hosts: string[]): cassandra.Client {
  return new cassandra.Client({
    contactPoints: hosts.map((h) => `${h}:9042`),
    localDataCenter: 'datacenter1',
    keyspace: undefined,
    policies: {
      loadBalancing: new policies.loadBalancing.AllowListPolicy(
        new policies.loadBalancing.RoundRobinPolicy(), hosts.map((h) => `${h}:9042`)),
      reconnection: new policies.reconnection.ConstantReconnectionPolicy(500),
    },
    socketOptions: { connectTimeout: 3_000, readTimeout: 5_000 },
    queryOptions: { consistency: types.consistencies.quorum, serialConsistency: types.consistencies.serial, prepare: true },
  });
}

const serialRead = (c: cassandra.Client) =>
  c.execute(`SELECT v FROM ${KEYSPACE}.counter WHERE k = ?`, [KEY], { consistency: types.consistencies.serial });

/** What one attempt on the pinned node gave: CQL closed, an error from the node, or the value it read. */
type Probe = { kind: 'closed' } | { kind: 'error'; message: string } | { kind: 'value'; v: number };

async function probe(): Promise<Probe> {
  const c = client([HOST]);
  try {
    await c.connect();
  } catch {
    await c.shutdown().catch(() => {});
    return { kind: 'closed' };
  }
  try {
    const rs = await serialRead(c);
    return { kind: 'value', v: Number(rs.first()?.['v']) };
  } catch (err) {
    return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  } finally {
    await c.shutdown().catch(() => {});
  }
}

describe('a ring node restarted while it cannot hear its peers', () => {
  let ring: cassandra.Client;
  let gossipOff = false;
  before(async () => {
    await cluster('up');
    ring = client(ADDRESSES);
    await ring.connect();
    await ring.execute(`CREATE KEYSPACE IF NOT EXISTS ${KEYSPACE} WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': 3}`);
    await ring.execute(`CREATE TABLE IF NOT EXISTS ${KEYSPACE}.counter (k int PRIMARY KEY, v int)`);
    await ring.execute(`INSERT INTO ${KEYSPACE}.counter (k, v) VALUES (?, 0) IF NOT EXISTS`, [KEY]);
  });
  after(async () => {
    if (gossipOff) for (const n of PEERS) await cluster('nodetool', String(n), 'enablegossip').catch(() => {});
    await ring?.shutdown();
    // Waits until every node sees the other two UN again, whatever state the test left.
    await cluster('start', String(NODE));
    await cluster('up');
  });

  it('when it comes back, then it keeps CQL closed while it does not see its peers UP, and forced open it answers a SERIAL read with an error, never with its pre-kill value; healed, the counter has not gone backwards', async (t) => {
    assert.equal(Number((await serialRead(ring)).first()?.['v']), 0);
    await cluster('kill', String(NODE));
    for (let v = 0; v < ADVANCES; v++) {
      const rs = await ring.execute(`UPDATE ${KEYSPACE}.counter SET v = ? WHERE k = ? IF v = ?`, [v + 1, KEY, v]);
      assert.equal(rs.first()?.['[applied]'], true, `advance ${v} -> ${v + 1} applied on the live majority`);
    }

    // The peers stop gossip: they ignore the restarted node's SYNs, as if its storage port were blocked.
    gossipOff = true;
    for (const n of PEERS) await cluster('nodetool', String(n), 'disablegossip');
    // `launch`: the JVM with CQL closed, and no harness waiting to open it.
    await cluster('launch', String(NODE));
    // JMX answers once the daemon is far enough in its start-up to report on CQL.
    const t0 = Date.now();
    while ((await cluster('nodetool', String(NODE), 'statusbinary').catch(() => '')) === '') {
      assert.ok(Date.now() - t0 < 300_000, 'node answers JMX within 5 minutes');
      await sleep(2_000);
    }
    const watchedFrom = Date.now();
    const seen: Probe[] = [];
    while (Date.now() - watchedFrom < WATCH_MS) {
      const p = await probe();
      seen.push(p);
      assert.ok(!(p.kind === 'value' && p.v === 0), 'a SERIAL read on the restarted node never returns the pre-kill value 0');
      await sleep(1_000);
    }
    assert.ok(seen.every((p) => p.kind === 'closed'), `CQL stayed closed while the peers were unseen: ${JSON.stringify(seen)}`);

    // Second line of defence: even opened by hand, the node knows its peers' tokens (system.peers loaded), so
    // Paxos needs 2 of 3: it answers Unavailable while it sees them down (as measured), or, should it have marked
    // them alive through their answers (echo, shadow round) meanwhile, it reads through them: never alone.
    await cluster('nodetool', String(NODE), 'enablebinary');
    let forced: Probe = { kind: 'closed' };
    for (let i = 0; i < 30 && forced.kind === 'closed'; i++) { forced = await probe(); if (forced.kind === 'closed') await sleep(1_000); }
    t.diagnostic(`watched ${seen.length} probes over ${WATCH_MS} ms: all ${seen[0]?.kind}; forced open: ${JSON.stringify(forced)}`);
    assert.ok(forced.kind === 'error' || (forced.kind === 'value' && forced.v === ADVANCES),
      `forced open, the SERIAL read fails or reads the ring's value, never decides alone: ${JSON.stringify(forced)}`);
    await cluster('nodetool', String(NODE), 'disablebinary');

    for (const n of PEERS) await cluster('nodetool', String(n), 'enablegossip');
    gossipOff = false;
    await cluster('start', String(NODE));
    await cluster('up');
    assert.equal(Number((await serialRead(ring)).first()?.['v']), ADVANCES, 'the healed ring holds the last advance');
    const pinned = client([HOST]);
    await pinned.connect();
    try {
      assert.equal(Number((await serialRead(pinned)).first()?.['v']), ADVANCES, 'the restarted node, now serving, reads the last advance');
    } finally { await pinned.shutdown(); }
  });
});
