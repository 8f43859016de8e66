/**
 * make test-pods, after `scripts/dev/pods.sh down`: the host is as it was before `up` (test/pods/run.sh took
 * the snapshot then): mount table, links, addresses, routes, iptables, the sysctls kubelet and kube-proxy
 * write, cgroup directories, network namespaces, kubelet/CNI/containerd default paths, processes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const DIR = process.env.PODS_SNAPSHOT_DIR;

function sections(file: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = '';
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('## ')) { current = line.slice(3); out.set(current, []); } else if (line) out.get(current)?.push(line);
  }
  return out;
}

describe('pods-down leaves nothing behind', () => {
  it('when the node and control plane were stopped, then every part of the host snapshot equals the one before up', () => {
    assert.ok(DIR, 'PODS_SNAPSHOT_DIR (set by test/pods/run.sh)');
    const before = sections(path.join(DIR, 'before'));
    const after = sections(path.join(DIR, 'after'));
    assert.deepEqual([...after.keys()], [...before.keys()]);
    assert.ok((before.get('mounts') ?? []).length > 0, 'the snapshot read the mount table');
    // Every section that differs, not only the first: one stray leaves the rest unchecked otherwise.
    const changed: Record<string, { gone: string[]; added: string[] }> = {};
    for (const [name, lines] of before) {
      const now = after.get(name) ?? [];
      const gone = lines.filter((l) => !now.includes(l));
      const added = now.filter((l) => !lines.includes(l));
      if (gone.length || added.length) changed[name] = { gone, added };
    }
    assert.deepEqual(changed, {}, 'host sections changed between before up and after down');
  });
});
