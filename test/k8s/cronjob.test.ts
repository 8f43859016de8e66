/**
 * The archiver CronJob, scheduled every minute (charts/ephemera/ci/k8s-test-values.yaml), makes
 * kube-controller-manager's CronJob controller create a Job.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { CHART, KWOK, batch, deleteNamespace, helm, installArgs, waitFor } from './support.js';

const NS = 'ephemera-cron';
const RELEASE = 'eph-cron';

describe('archiver CronJob on a real controller-manager', { timeout: 6 * 60_000 }, () => {
  after(async () => {
    await helm('uninstall', RELEASE, '-n', NS, '--timeout', '60s').catch(() => undefined);
    await deleteNamespace(NS);
  });

  it('creates a Job from the CronJob within ~2 minutes', async () => {
    const started = Date.now();
    await helm(...installArgs(RELEASE, NS, ['-f', path.join(CHART, 'ci/k8s-test-values.yaml')]));
    const cronjobs = await batch.listNamespacedCronJob({ namespace: NS });
    assert.equal(cronjobs.items.length, 1, 'one CronJob');
    const cron = cronjobs.items[0]!;
    assert.equal(cron.spec?.schedule, '*/1 * * * *');

    const job = await waitFor('a Job owned by the CronJob', async () => {
      const jobs = await batch.listNamespacedJob({ namespace: NS });
      return jobs.items.find((j) => j.metadata?.ownerReferences?.some(
        (r) => r.kind === 'CronJob' && r.uid === cron.metadata?.uid));
    }, 130_000, 1_000);
    const seconds = Math.round((Date.now() - started) / 1000);
    console.log(`# CronJob controller created Job ${job.metadata?.name} ${seconds}s after helm install`);
    assert.equal(job.spec?.template.spec?.containers[0]?.name, 'archiver');
    assert.deepEqual(job.spec?.template.spec?.containers[0]?.command, ['node', 'dist/cli.js', 'archive']);

    const status = await waitFor('CronJob status.lastScheduleTime', async () => {
      const c = await batch.readNamespacedCronJob({ name: cron.metadata!.name!, namespace: NS });
      return c.status?.lastScheduleTime ? c.status : undefined;
    }, 30_000);
    assert.ok(status.lastScheduleTime);

    if (KWOK) {
      // kwok completes Pods owned by Jobs: the Job controller marks the archiver Job Complete.
      const done = await waitFor('the archiver Job to complete', async () => {
        const j = await batch.readNamespacedJob({ name: job.metadata!.name!, namespace: NS });
        return j.status?.succeeded ? j : undefined;
      }, 60_000);
      assert.equal(done.status?.succeeded, 1);
    }
  });
});
