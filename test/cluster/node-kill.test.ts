import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueUser } from '../support/harness.js';
import type { ServiceProcess } from '../support/processes.js';
import { check, errorBurst } from './checker.js';
import { cluster, historyFile, newChatPath, REQUEST_TIMEOUT_MS, sleep, twoServices, unreadable } from './cluster-control.js';
import { History } from './history.js';
import { drain, startLoad } from './load.js';
import { publish } from './report.js';

/** Errors after a crash must end within this long (measured: see README, "Three-node cluster"). */
const BURST_BOUND_MS = 10_000;

describe('one Cassandra node SIGKILLed under load (RF 3, LOCAL_QUORUM)', () => {
  let a: ServiceProcess;
  let b: ServiceProcess;
  before(async () => {
    await cluster('up');
    [a, b] = await twoServices();
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await cluster('up');
  });

  it('when a node is killed mid-load and restarted, then nothing acknowledged is lost or delivered twice, errors are one short burst, and every acknowledged write reads back at LOCAL_QUORUM', async (t) => {
    const users = [uniqueUser('kill'), uniqueUser('kill'), uniqueUser('kill')];
    const urls = [a.url, b.url];
    const h = new History(historyFile('node-kill'));
    const load = startLoad({ urls, users, history: h, chats: [await newChatPath(a.url)] });

    await sleep(8_000);
    h.mark('kill node 2');
    const killAt = h.now();
    await cluster('kill', '2');
    await sleep(15_000);
    h.mark('start node 2');
    const t0 = Date.now();
    await cluster('start', '2');
    const restartMs = Date.now() - t0;
    h.mark('node 2 UN');
    await sleep(8_000);
    await load.stop();
    await drain(h, urls, users);

    const report = check(h.events);
    const burst = errorBurst(h.events, killAt);
    const unread = await unreadable(a.url, h.events);
    publish(t, 'node-kill', report, { burst, restartMs, unreadable: unread, history: h.file });

    assert.ok(report.inbox.acknowledged >= 100, `a real load ran (${report.inbox.acknowledged} acknowledged)`);
    assert.equal(report.inbox.lost, 0, `lost: ${report.lostIds.join(',')}`);
    assert.equal(report.inbox.duplicated, 0, 'no message delivered twice');
    assert.equal(report.numbering?.duplicates, 0, 'no chat message number handed out twice')
    assert.equal(report.inbox.unexpected, 0, 'nothing delivered that was never created');
    assert.equal(unread, 0, 'every acknowledged message reads back by id at LOCAL_QUORUM');
    assert.ok(burst.spanMs <= BURST_BOUND_MS, `errors span ${burst.spanMs} ms (${burst.errors} errors)`);
    assert.ok(burst.slowestMs <= REQUEST_TIMEOUT_MS + 1_000, `no request hung (slowest ${burst.slowestMs} ms)`);
  });
});
