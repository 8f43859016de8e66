import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startLoop, type PassOutcome } from '../../src/workers/loop.js';

/** Lets the promise callbacks of a tick run (setImmediate is not mocked). */
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('startLoop: the one worker loop', () => {
  it('when a pass takes several ticks, then no other starts meanwhile, and stop() waits for it', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    let passes = 0;
    let finish = () => {};
    const loop = startLoop(() => { passes++; return new Promise<void>((resolve) => { finish = resolve; }); }, 1);
    for (let i = 0; i < 4; i++) {
      t.mock.timers.tick(1000);
      await flush();
    }
    assert.equal(passes, 1, 'ticks during a pass are dropped');
    let stopped = false;
    const stopping = loop.stop().then(() => { stopped = true; });
    await flush();
    assert.equal(stopped, false, 'stop() returned while the pass was running');
    finish();
    await stopping;
    t.mock.timers.tick(5000);
    await flush();
    assert.equal(passes, 1, 'no pass after stop()');
  });

  it('when passes keep failing with backoff, then they run on ticks 1, 2, 4, 8, 16, 24 (0, 1, 3, 7, 7 skipped)', async (t) => {
    assert.deepEqual(await ticksOfPasses(t, 24, () => 'failure'), [1, 2, 4, 8, 16, 24]);
  });

  it('when a pass succeeds after failures, then the next runs on the next tick again', async (t) => {
    const outcomes: PassOutcome[] = ['failure', 'failure', 'success', 'success'];
    assert.deepEqual(await ticksOfPasses(t, 6, () => outcomes.shift() ?? 'success'), [1, 2, 4, 5, 6]);
  });

  it('when a pass resolves to nothing (the skew gate closed), then the failures before it still count', async (t) => {
    const outcomes: (PassOutcome | undefined)[] = ['failure', undefined, 'failure'];
    assert.deepEqual(await ticksOfPasses(t, 8, () => outcomes.shift() ?? 'failure'), [1, 2, 4, 8]);
  });
});

/** Runs a loop of 1 s ticks on mocked timers for `ticks` ticks; answers the ticks on which a pass ran. */
async function ticksOfPasses(t: TestContext, ticks: number, outcome: () => PassOutcome | undefined): Promise<number[]> {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const ran: number[] = [];
  let tick = 0;
  const loop = startLoop(async () => { ran.push(tick); return outcome(); }, 1, { backoff: true });
  for (tick = 1; tick <= ticks; tick++) {
    t.mock.timers.tick(1000);
    await flush();
  }
  await loop.stop();
  return ran;
}
