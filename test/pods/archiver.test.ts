/**
 * The archiver CronJob as a real pod (make test-pods): kube-controller-manager creates the Job on the schedule
 * (every minute in k8s/values-pods.yaml), the kubelet runs `node dist/cli.js archive` in a container, it takes
 * the Lease through the kubernetes Service and moves a timed-out message from hot to cold.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { batch, core, waitFor } from '../k8s/support.js';
import { connectTestDb, postChat, uniqueUser } from '../support/harness.js';
import type { Db } from '../../src/storage/cassandra.js';
import { BASE_URL, NAMESPACE, RELEASE } from './support.js';

describe('archiver CronJob on a real node', { timeout: 8 * 60_000 }, () => {
  let db: Db;
  before(async () => { db = await connectTestDb(); });
  after(async () => { await db.shutdown(); });

  it('when a message times out, then a scheduled archiver pod moves it to cold and exits 0', async () => {
    const user = uniqueUser('pods-archive');
    const created = await postChat(BASE_URL, { username: user, text: 'archive me', timeout: 1 });
    assert.equal(created.status, 201);
    const id = created.body.id as number;
    const since = Date.now();

    // Its minute bucket must end and settle before a pass takes it: up to ~2 schedules after the create.
    const row = await waitFor('the message in the cold keyspace', async () => {
      const rs = await db.execute('pods_test_cold_read',
        `SELECT id, username, reason FROM ${db.cold}.messages WHERE id = ?`, [id]);
      return rs.rows[0];
    }, 5 * 60_000, 2_000);
    console.log(`# archived ${((Date.now() - since) / 1000).toFixed(0)} s after its create`);
    assert.equal(row.username, user);
    assert.equal(row.reason, 'timeout');

    // The pass that moved it was a container: a Job of the CronJob whose pod terminated with exit code 0.
    const cron = await batch.readNamespacedCronJob({ name: `${RELEASE}-archiver`, namespace: NAMESPACE });
    const pod = await waitFor('a succeeded archiver pod', async () => {
      const jobs = await batch.listNamespacedJob({ namespace: NAMESPACE });
      const ours = new Set(jobs.items.filter((j) => j.metadata?.ownerReferences?.some((r) => r.uid === cron.metadata?.uid))
        .map((j) => j.metadata!.name!));
      const pods = await core.listNamespacedPod({ namespace: NAMESPACE });
      return pods.items.find((p) => ours.has(p.metadata?.labels?.['job-name'] ?? '') && p.status?.phase === 'Succeeded');
    }, 120_000, 2_000);
    const term = pod.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(term?.exitCode, 0);
    assert.match(pod.status?.containerStatuses?.[0]?.containerID ?? '', /^containerd:\/\//);
    console.log(`# archiver pod ${pod.metadata?.name}: ${term?.startedAt?.toISOString?.() ?? term?.startedAt} -> ${term?.finishedAt?.toISOString?.() ?? term?.finishedAt}`);
  });
});
