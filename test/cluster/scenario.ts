import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueUser } from '../support/harness.js';
import type { ServiceProcess } from '../support/processes.js';
import type { CheckReport } from './checker.js';
import { cluster, historyFile, newChatPath, twoServices } from './cluster-control.js';
import { nodeLogMarks } from './evidence.js';
import { History } from './history.js';
import { drain, readEdited, startLoad } from './load.js';
import { checkSearch, type SearchCheck } from './search-check.js';

/** The two service processes a ring suite drives (set once its `before` ran). */
export interface Services { a: ServiceProcess; b: ServiceProcess }

/**
 * A ring suite's hooks: before, the ring up and two service processes on it; after, `undo` (the nemesis taken
 * back if the test stopped half-way), the services stopped and, unless `restoreRing` is false, the ring brought
 * back up for the next suite.
 */
export function ringServices(opts: { undo?: () => Promise<void>; restoreRing?: boolean } = {}): Services {
  const services = {} as Services;
  before(async () => {
    await cluster('up');
    [services.a, services.b] = await twoServices();
  });
  after(async () => {
    await opts.undo?.();
    await Promise.all([services.a?.stop(), services.b?.stop()]);
    if (opts.restoreRing !== false) await cluster('up');
  });
  return services;
}

export interface Scenario {
  users: string[]; urls: string[]; h: History; marks: number[]; load: ReturnType<typeof startLoad>;
  /** The chat the load numbers and edits messages in. */
  chat: string;
}

/** The start of every ring scenario: three users, the mixed load from both services (one new chat), recorded. */
export async function startScenario(name: string, userPrefix: string, { a, b }: Services): Promise<Scenario> {
  const users = [uniqueUser(userPrefix), uniqueUser(userPrefix), uniqueUser(userPrefix)];
  const urls = [a.url, b.url];
  const h = new History(historyFile(name));
  const marks = nodeLogMarks();
  const chat = await newChatPath(a.url);
  const load = startLoad({ urls, users, history: h, chats: [chat] });
  return { users, urls, h, marks, load, chat };
}

/**
 * Its end: the load stopped, every user's inbox drained and every edit read back, so the history is complete;
 * then the search index checked against the final rows once the change-log indexer caught up.
 */
export async function settleScenario({ load, h, urls, users, chat }: Scenario, readUrl: string): Promise<SearchCheck> {
  await load.stop();
  await drain(h, urls, users);
  await readEdited(h, readUrl);
  return checkSearch(readUrl, chat, h.events);
}

/**
 * What no nemesis may cause, whatever it costs in errors: an acknowledged message lost, delivered twice or
 * delivered without having been created, a chat message number handed out twice, an acknowledged edit lost, or an
 * acknowledged message that does not read back by id at LOCAL_QUORUM (`unread`), or a search answer that contradicts
 * the final rows once the indexer caught up (`search`).
 */
export function assertNoAnomalies(report: CheckReport, unread: number, search: SearchCheck): void {
  assert.equal(report.inbox.lost, 0, `lost: ${report.lostIds.join(',')}`);
  assert.equal(report.inbox.duplicated, 0, 'no message delivered twice');
  assert.equal(report.numbering?.duplicates, 0, 'no chat message number handed out twice');
  assert.equal(report.inbox.unexpected, 0, 'nothing delivered that was never created');
  assert.equal(report.edits?.lost, 0, `edits lost: ${report.edits?.lostEdits.join('; ')}`);
  assert.equal(unread, 0, 'every acknowledged message reads back by id at LOCAL_QUORUM');
  assert.ok(search.queries > 0, 'the search check asked something');
  assert.deepEqual(search.contradictions, [], `search agrees with the final rows after ${search.passes} indexer passes`);
}
