import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { check } from '../cluster/checker.js';
import { historyFile, newChatPath, sleep } from '../cluster/cluster-control.js';
import { History } from '../cluster/history.js';
import { drain, readEdited, startLoad } from '../cluster/load.js';
import { ensureSchema, uniqueUser } from '../support/harness.js';
import { spawnCli, spawnService, type ServiceProcess } from '../support/processes.js';

/**
 * Clock skew as a nemesis (issue 27): libfaketime (Debian `faketime`, LD_PRELOAD) shifts one service process's
 * wall clock; its monotonic clock is left alone, as NTP slewing would. Cassandra keeps the real time.
 */
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const skewed = (offset: string) => ({ LD_PRELOAD: LIBFAKETIME, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1' });
/**
 * +1.5 s and -1.5 s are 3 s apart: the budget between two processes must cover that (each within half of it, 1.6 s,
 * of Cassandra's clock), and the settle window must leave a 2 × 5 s acknowledgement deadline after it.
 */
const BUDGET = { MAX_CLOCK_SKEW_MS: '3200', DELIVERY_SETTLE_MS: '14000' };

describe('service processes with skewed clocks (one ahead, one behind), against the real Cassandra', () => {
  let a: ServiceProcess;
  let b: ServiceProcess;
  before(async () => {
    assert.ok(existsSync(LIBFAKETIME), `${LIBFAKETIME} missing: make faketime (Debian package faketime)`);
    await ensureSchema();
    [a, b] = await Promise.all([spawnService({ ...BUDGET, ...skewed('+1.5s') }), spawnService({ ...BUDGET, ...skewed('-1.5s') })]);
  });
  after(async () => { await Promise.all([a?.stop(), b?.stop()]); });

  it('when one process runs 1.5 s ahead and one 1.5 s behind, inside MAX_CLOCK_SKEW_MS, then under mixed load nothing acknowledged is lost or delivered twice, no number is given twice and no edit is lost', async (t) => {
    const skew = await Promise.all([a, b].map(async (s) => (await (await fetch(`${s.url}/readyz`)).json()) as { checks: { clock: string } }));
    assert.deepEqual(skew.map((r) => r.checks.clock), ['ok', 'ok'], 'both processes are inside the budget');
    const users = [uniqueUser('skew'), uniqueUser('skew'), uniqueUser('skew')];
    const urls = [a.url, b.url];
    const h = new History(historyFile('clock-skew'));
    const load = startLoad({ urls, users, history: h, chats: [await newChatPath(a.url)] });
    await sleep(20_000);
    await load.stop();
    await drain(h, urls, users);
    await readEdited(h, a.url);
    const report = check(h.events);
    t.diagnostic(`clock-skew: ${JSON.stringify({ ...report.inbox, numbering: report.numbering, edits: report.edits, history: h.file })}`);
    assert.ok(report.inbox.acknowledged >= 100, `a real load ran (${report.inbox.acknowledged} acknowledged)`);
    assert.equal(report.inbox.lost, 0, `lost: ${report.lostIds.join(',')}`);
    assert.equal(report.inbox.duplicated, 0, 'no message delivered twice');
    assert.equal(report.inbox.unexpected, 0, 'nothing delivered that was never created');
    assert.equal(report.numbering?.duplicates, 0, 'no chat message number handed out twice');
    assert.equal(report.edits?.lost, 0, `edits lost: ${report.edits?.lostEdits.join('; ')}`);
  });

  it('when a process runs 2.5 s ahead, beyond half the budget, then it refuses to serve: /readyz answers 503 naming the clock', async () => {
    const { proc, logs, exited } = await spawnCli(['serve'], { ...BUDGET, ...skewed('+2.5s') });
    try {
      const deadline = Date.now() + 60_000;
      let port: number | null = null;
      while (port === null) {
        const line = logs.find((l) => l.includes('"listening"'));
        if (line) port = (JSON.parse(line) as { port: number }).port;
        else { assert.ok(Date.now() < deadline, `the process listens: ${logs.join('\n')}`); await sleep(100); }
      }
      let body: { status?: string; checks?: { clock?: string } } = {};
      let status = 0;
      while (!body.checks?.clock?.includes('exceeds')) {
        assert.ok(Date.now() < deadline, `readiness names the clock: ${JSON.stringify(body)}`);
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        status = res.status;
        body = await res.json() as typeof body;
        await sleep(200);
      }
      assert.equal(status, 503);
      assert.equal(body.status, 'not_ready');
    } finally {
      proc.kill('SIGTERM');
      await exited;
    }
  });
});
