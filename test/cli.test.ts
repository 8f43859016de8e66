import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnCli } from './support/processes.js';

describe('command line', () => {
  it('when asked for --help, then it lists the subcommands and exits 0', async () => {
    const run = await spawnCli(['--help']);
    assert.equal(await run.exited, 0);
    const out = run.logs.join('\n');
    for (const cmd of ['serve', 'migrate', 'archive']) assert.match(out, new RegExp(`\\b${cmd}\\b`));
  });

  it('when the environment is invalid, then it exits 78 naming the variable, before touching Cassandra', async () => {
    const run = await spawnCli(['serve'], { PORT: '-5' });
    assert.equal(await run.exited, 78);
    assert.match(run.logs.join('\n'), /PORT/);
  });

  it('when the command is unknown, then it exits 64 with the usage', async () => {
    const run = await spawnCli(['frobnicate']);
    assert.equal(await run.exited, 64);
    assert.match(run.logs.join('\n'), /unknown command/);
  });
});
