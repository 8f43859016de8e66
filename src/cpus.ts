import fs from 'node:fs';
import os from 'node:os';

/**
 * CPUs this process may really use: the CPU affinity (what `os.availableParallelism()` reports on Node 20) capped
 * by the cgroup v2 quota (`cpu.max`, "quota period"), which is what a Kubernetes CPU limit sets. A pod limited to
 * one CPU on a 64-core node thus gets 1, not 64.
 */
export function availableCpus(cpuMax = '/sys/fs/cgroup/cpu.max'): number {
  const affinity = os.availableParallelism();
  try {
    const [quota, period] = fs.readFileSync(cpuMax, 'utf8').trim().split(/\s+/);
    if (!quota || quota === 'max' || !period) return affinity;
    return Math.max(1, Math.min(affinity, Math.ceil(Number(quota) / Number(period))));
  } catch {
    return affinity;
  }
}
