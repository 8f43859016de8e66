import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueUser } from '../support/harness.js';
import type { ServiceProcess } from '../support/processes.js';
import { check, errorBurst } from './checker.js';
import { cluster, historyFile, newChatPath, sleep, twoServices, unreadable } from './cluster-control.js';
import { nodeLogMarks, withEvidence } from './evidence.js';
import { History } from './history.js';
import { drain, readEdited, startLoad } from './load.js';
import { publish } from './report.js';

/**
 * A silent partition (dropped packets, no reset) costs a statement its full 2 s client timeout before the driver
 * gives the node up, and a list runs several statements in sequence: measured slowest, see docs/design.md.
 */
const PARTITION_SLOWEST_MS = 10_000;

describe('one Cassandra node partitioned from its peers and the clients (RF 3, LOCAL_QUORUM)', () => {
  let a: ServiceProcess;
  let b: ServiceProcess;
  let healed = true;
  before(async () => {
    await cluster('up');
    [a, b] = await twoServices();
  });
  after(async () => {
    if (!healed) await cluster('heal', '3');
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('when a node is cut off mid-load and then healed, then delivery stays exactly-once, nothing acknowledged is lost, and no request hangs', async (t) => {
    const users = [uniqueUser('part'), uniqueUser('part'), uniqueUser('part')];
    const urls = [a.url, b.url];
    const h = new History(historyFile('partition'));
    const marks = nodeLogMarks();
    const load = startLoad({ urls, users, history: h, chats: [await newChatPath(a.url)] });

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
    await load.stop();
    await drain(h, urls, users);
    await readEdited(h, a.url);

    const report = check(h.events);
    const burst = errorBurst(h.events, cutAt);
    const unread = await unreadable(a.url, h.events);
    publish(t, 'partition', report, { method: method.split('\n').pop(), burst, healMs, unreadable: unread, history: h.file });

    await withEvidence(h.file, [a, b], marks, () => {
      assert.ok(report.inbox.acknowledged >= 100, `a real load ran (${report.inbox.acknowledged} acknowledged)`);
      assert.equal(report.inbox.lost, 0, `lost: ${report.lostIds.join(',')}`);
      assert.equal(report.inbox.duplicated, 0);
      assert.equal(report.numbering?.duplicates, 0, 'no chat message number handed out twice')
      assert.equal(report.inbox.unexpected, 0);
      assert.equal(report.edits?.lost, 0, `edits lost: ${report.edits?.lostEdits.join('; ')}`);
      assert.equal(unread, 0, 'every acknowledged message reads back by id at LOCAL_QUORUM');
      assert.ok(burst.slowestMs <= PARTITION_SLOWEST_MS, `no request hung (slowest ${burst.slowestMs} ms)`);
    });
  });
});
