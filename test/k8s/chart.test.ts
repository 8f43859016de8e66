/**
 * The Helm chart against a real API server (scripts/dev/k8s.sh): CRDs from ../shared/k8s-schemas,
 * install / upgrade / uninstall with the default and the KEDA values, every rendered object
 * live as rendered, and the pre-install migration hook Job accepted by the API server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  CHART, KUBE_VERSION, KWOK, REPO, applyCrds, assertLiveAsRendered, deleteNamespace, helm, installArgs,
  objects, parseManifest, readLive, upgradeArgs, waitFor, type Obj,
} from './support.js';

const CRDS = process.env.EPHEMERA_K8S_CRDS ?? path.resolve(REPO, '../shared/k8s-schemas/crds');

const CASES = [
  {
    name: 'default', namespace: 'ephemera-default', values: [] as string[],
    kinds: ['Deployment', 'HorizontalPodAutoscaler', 'CronJob', 'PodDisruptionBudget'],
    absent: ['ScaledObject'],
  },
  {
    name: 'keda', namespace: 'ephemera-keda',
    values: ['-f', path.join(CHART, 'ci/keda-values.yaml'), '--set', 'prometheusRule.enabled=true'],
    kinds: ['Deployment', 'ScaledObject', 'CronJob', 'PodDisruptionBudget', 'ServiceMonitor', 'PrometheusRule'],
    absent: ['HorizontalPodAutoscaler'],
  },
];

describe('charts/ephemera on a real API server', { timeout: 15 * 60_000 }, () => {
  before(async () => {
    const crds = await applyCrds(CRDS);
    assert.ok(crds.includes('scaledobjects.keda.sh'), `KEDA ScaledObject CRD among ${crds.join(', ')}`);
    assert.ok(crds.includes('servicemonitors.monitoring.coreos.com'));
    assert.ok(crds.includes('prometheusrules.monitoring.coreos.com'));
  });
  after(async () => {
    for (const c of CASES) await deleteNamespace(c.namespace);
  });

  for (const c of CASES) {
    it(`${c.name} values: the migration hook Job renders and the API server accepts it (server-side dry run)`, async () => {
      const hook = parseManifest(await helm('template', 'ephemera', CHART, '-n', 'default', '--kube-version', KUBE_VERSION,
        '--show-only', 'templates/migration-job.yaml', ...c.values));
      const job = hook.find((o) => o.kind === 'Job');
      assert.ok(job, 'a Job in templates/migration-job.yaml');
      assert.match(String(job.metadata?.annotations?.['helm.sh/hook']), /pre-install/);
      for (const o of hook) {
        const accepted = await objects.create(o, undefined, 'All');
        assert.equal(accepted.kind, o.kind);
        assert.ok(accepted.metadata?.uid, `${o.kind} ${o.metadata?.name} passed admission (dry run)`);
      }
      assert.equal(await readLive(job), undefined, 'the dry run stored nothing');
    });

    it(`${c.name} values: helm install, upgrade and uninstall${KWOK ? ' (hooks run on a kwok node, --wait)' : ' (--no-hooks)'}`,
      async () => {
        const release = `eph-${c.name}`;
        await helm(...installArgs(release, c.namespace, c.values));
        const status = JSON.parse(await helm('status', release, '-n', c.namespace, '-o', 'json')) as
          { info: { status: string }; version: number };
        assert.equal(status.info.status, 'deployed');

        const rendered = parseManifest(await helm('get', 'manifest', release, '-n', c.namespace));
        const kinds = new Set(rendered.map((o) => o.kind));
        for (const k of c.kinds) assert.ok(kinds.has(k), `${k} rendered (have ${[...kinds].join(', ')})`);
        for (const k of c.absent) assert.ok(!kinds.has(k), `${k} not rendered`);
        await assertLiveAsRendered(rendered);

        if (KWOK) {
          // The hook ran to completion (helm waited for it) and was deleted (hook-succeeded).
          const hooks = parseManifest(await helm('get', 'hooks', release, '-n', c.namespace));
          const job = hooks.find((o) => o.kind === 'Job');
          assert.ok(job, 'the release recorded the migration hook Job');
          assert.equal(await readLive({ ...job, metadata: { ...job.metadata, namespace: c.namespace } }), undefined,
            'hook-succeeded deleted the completed migration Job');
          const deployment = rendered.find((o) => o.kind === 'Deployment')!;
          const live = await readLive(deployment) as Obj & { status?: { readyReplicas?: number } };
          assert.ok((live.status?.readyReplicas ?? 0) >= 1, 'Deployment has ready (kwok) replicas');
        }

        // upgrade: same values plus a new image tag; the Deployment follows, revision 2.
        await helm(...upgradeArgs(release, c.namespace, [...c.values, '--set', 'image.tag=0.1.1-upgraded']));
        const upgraded = JSON.parse(await helm('status', release, '-n', c.namespace, '-o', 'json')) as
          { info: { status: string }; version: number };
        assert.equal(upgraded.info.status, 'deployed');
        assert.equal(upgraded.version, 2);
        const afterUpgrade = parseManifest(await helm('get', 'manifest', release, '-n', c.namespace));
        await assertLiveAsRendered(afterUpgrade);
        const dep = await readLive(afterUpgrade.find((o) => o.kind === 'Deployment')!) as
          { spec: { template: { spec: { containers: Array<{ image: string }> } } } };
        assert.match(dep.spec.template.spec.containers[0]!.image, /:0\.1\.1-upgraded$/);

        await helm('uninstall', release, '-n', c.namespace, '--wait', '--timeout', '120s');
        for (const o of afterUpgrade) {
          await waitFor(`${o.kind} ${o.metadata?.name} deleted`, async () => (await readLive(o)) === undefined, 60_000);
        }
        await assert.rejects(helm('status', release, '-n', c.namespace), /not found/);
      });
  }
});
