/**
 * The release on a node that runs real containers (make test-pods): the pods have their own addresses on the pod
 * network, the Service spreads requests over them, and each became Ready through its real probes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { core, waitFor } from '../k8s/support.js';
import { BASE_URL, NAMESPACE, RELEASE, requestsServed, serverPods } from './support.js';

describe('the chart on a real node', () => {
  it('when the release is installed, then every API pod runs a real container on its own pod-network address and is Ready', async () => {
    const pods = await serverPods();
    assert.ok(pods.length >= 2, `2 API replicas (k8s/values-pods.yaml), got ${pods.length}`);
    const ips = new Set<string>();
    for (const p of pods) {
      const ip = p.status?.podIP ?? '';
      assert.match(ip, /^10\.244\.0\.\d+$/, `${p.metadata?.name} has an address on the pod network`);
      ips.add(ip);
      const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.status, 'True', `${p.metadata?.name} Ready`);
      const c = p.status?.containerStatuses?.[0];
      assert.match(c?.containerID ?? '', /^containerd:\/\//, 'a container containerd started');
      assert.ok(c?.state?.running?.startedAt, 'running');
      const created = new Date(p.metadata!.creationTimestamp!).getTime();
      console.log(`# ${p.metadata?.name}: created -> Ready ${((new Date(ready!.lastTransitionTime!).getTime() - created) / 1000).toFixed(0)} s, restarts ${c?.restartCount}`);
    }
    assert.equal(ips.size, pods.length, 'one address per pod');

    const slices = await waitFor('the Service endpoints to list every API pod', async () => {
      const list = await core.listNamespacedEndpoints({ namespace: NAMESPACE, fieldSelector: `metadata.name=${RELEASE}` });
      const addrs = list.items[0]?.subsets?.flatMap((s) => s.addresses ?? []).map((a) => a.ip) ?? [];
      return addrs.length === pods.length && addrs.every((a) => ips.has(a)) ? addrs : undefined;
    }, 60_000);
    assert.equal(slices.length, pods.length);
  });

  it('when requests arrive through the Service on new connections, then more than one pod serves them', async () => {
    const pods = await serverPods();
    const before = await Promise.all(pods.map((p) => requestsServed(p.status!.podIP!)));
    // Each fetch with `connection: close` is a new connection through the relay, so kube-proxy's random
    // choice applies to every one: 60 of them all on one of 2 pods has probability 2^-59.
    for (let i = 0; i < 60; i++) {
      const res = await fetch(`${BASE_URL}/chats/pods-spread-${i}`, { headers: { connection: 'close' } });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    const after = await Promise.all(pods.map((p) => requestsServed(p.status!.podIP!)));
    const served = after.map((a, i) => a - before[i]!);
    console.log(`# requests per pod through the Service: ${served.join(', ')}`);
    assert.ok(served.reduce((a, b) => a + b, 0) >= 60, 'every request reached a pod');
    assert.ok(served.filter((n) => n > 0).length >= 2, `spread over the pods: ${served.join(', ')}`);
  });
});
