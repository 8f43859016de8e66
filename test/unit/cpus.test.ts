import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { availableCpus } from '../../src/cpus.js';

describe('WORKERS=auto', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cpus-'));
  const cpuMax = (content: string) => { const f = path.join(dir, `cpu.max.${Math.random()}`); fs.writeFileSync(f, content); return f; };

  it('when the cgroup quota is one CPU, then one worker, whatever the affinity says', () => {
    assert.equal(availableCpus(cpuMax('100000 100000\n')), 1);
  });

  it('when the quota is 1.5 CPUs, then it rounds up (never more than the affinity)', () => {
    assert.equal(availableCpus(cpuMax('150000 100000\n')), Math.min(2, os.availableParallelism()));
  });

  it('when there is no quota or no cgroup file, then the affinity decides', () => {
    assert.equal(availableCpus(cpuMax('max 100000\n')), os.availableParallelism());
    assert.equal(availableCpus(path.join(dir, 'absent')), os.availableParallelism());
  });
});
