/**
 * The compose stack's own parts, beyond the API conformance suite that runs against it in the same
 * `scripts/dev/compose.sh test` run: the archiver service loops (`serve --archive-every`) and reports success.
 * Runs only there (COMPOSE_ARCHIVER_URL names the archiver container's port).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

const ARCHIVER = process.env.COMPOSE_ARCHIVER_URL ?? 'http://127.0.0.1:18181';

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${ARCHIVER}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name) && !l.startsWith('#'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('compose stack: the archiver service', () => {
  it('when the stack has run a while, then the archiver container is healthy and completes archive passes', async () => {
    assert.equal((await fetch(`${ARCHIVER}/healthz`)).status, 200);
    const deadline = Date.now() + 60_000;
    let last = 0;
    while (Date.now() < deadline) {
      last = await metric('ephemera_archiver_last_success_timestamp_seconds');
      if (last > 0) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.ok(last > 0, 'ephemera_archiver_last_success_timestamp_seconds was never set');
    assert.ok(Math.abs(last * 1000 - Date.now()) < 120_000, `last success ${new Date(last * 1000).toISOString()} is recent`);
  });
});
