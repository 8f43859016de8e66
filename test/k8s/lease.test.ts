/**
 * The archiver's coordination.k8s.io/v1 Lease lock (src/workers/archiver/kubernetes-lock.ts)
 * against a real API server: one holder at a time, renewals, takeover after expiry, release.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KubernetesLeaseLock } from '../../src/workers/archiver/kubernetes-lock.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { archiverSettings } from '../../src/settings.js';
import { KUBECONFIG, kc, sleep } from './support.js';
import * as k8s from '@kubernetes/client-node';

const TTL_SECONDS = 5; // the smallest ARCHIVER_LOCK_TTL_SECONDS loadConfig accepts
const coordination = kc.makeApiClient(k8s.CoordinationV1Api);

describe('KubernetesLeaseLock on a real API server', { timeout: 120_000 }, () => {
  let config: Config;
  const log = createLogger('warn');
  const lock = (holder: string) => KubernetesLeaseLock.create(archiverSettings(config).lock.kubernetes, log, holder, KUBECONFIG);
  const lease = () => coordination.readNamespacedLease({ name: config.LEASE_NAME, namespace: 'default' });

  before(() => {
    config = loadConfig({
      ...process.env, POD_NAMESPACE: 'default', ARCHIVER_LOCK_TTL_SECONDS: String(TTL_SECONDS),
      LEASE_NAME: `ephemera-archiver-test-${Date.now().toString(36)}`,
    });
  });
  after(async () => {
    await coordination.deleteNamespacedLease({ name: config.LEASE_NAME, namespace: 'default' }).catch(() => undefined);
  });

  it('keeps a second holder out, renews, is taken over after expiry, and release lets the next in', async () => {
    const a = await lock('holder-a');
    const b = await lock('holder-b');

    assert.equal(await a.tryAcquire(), true, 'a creates the Lease');
    const created = await lease();
    assert.equal(created.spec?.holderIdentity, 'holder-a');
    assert.equal(created.spec?.leaseDurationSeconds, TTL_SECONDS);
    assert.equal(await b.tryAcquire(), false, 'b is kept out while a holds it');

    // Renew past the original expiry: b stays out the whole time.
    for (let i = 0; i < 4; i++) {
      await sleep(2_000);
      assert.equal(await a.renew(), true, `renewal ${i + 1}`);
      assert.equal(await b.tryAcquire(), false, `b kept out after renewal ${i + 1}`);
    }
    const renewed = await lease();
    assert.ok(new Date(renewed.spec!.renewTime!).getTime() > new Date(created.spec!.renewTime!).getTime(),
      'renewTime moved forward');
    assert.equal(renewed.spec?.holderIdentity, 'holder-a');

    // a stops renewing (a crashed archiver): after the TTL, b takes over and a learns it lost it.
    await sleep((TTL_SECONDS + 1) * 1000);
    assert.equal(await b.tryAcquire(), true, 'b takes over the expired Lease');
    const taken = await lease();
    assert.equal(taken.spec?.holderIdentity, 'holder-b');
    assert.ok((taken.spec?.leaseTransitions ?? 0) >= 1, 'leaseTransitions counted the takeover');
    assert.equal(await a.renew(), false, 'a cannot renew a Lease it lost');
    assert.equal(await a.tryAcquire(), false, 'a is kept out while b holds it');

    // b releases: a gets in at once, without waiting out the TTL.
    await b.release();
    assert.equal(await a.tryAcquire(), true, 'a acquires right after the release');
    assert.equal((await lease()).spec?.holderIdentity, 'holder-a');
    assert.equal(await b.renew(), false, 'b cannot renew after releasing');
    await a.release();
  });

  it('two contenders for a free Lease: exactly one wins', async () => {
    for (let round = 0; round < 5; round++) {
      const contenders = await Promise.all(['x', 'y', 'z'].map((h) => lock(`contender-${round}-${h}`)));
      const won = await Promise.all(contenders.map((c) => c.tryAcquire()));
      assert.equal(won.filter(Boolean).length, 1, `round ${round}: ${JSON.stringify(won)}`);
      const winner = contenders[won.indexOf(true)]!;
      assert.equal((await lease()).spec?.holderIdentity, winner.holder);
      await winner.release();
    }
  });
});
