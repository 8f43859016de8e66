import type { Logger } from '../../logger.js';
import type { Lease } from '../../storage/lease.js';

/**
 * Lease times are metav1.MicroTime: the API server parses them as RFC 3339 with exactly six fractional digits and
 * rejects a plain Date's JSON ("...:05.123Z") with 400.
 */
class MicroTime extends Date {
  override toISOString(): string {
    return super.toISOString().replace(/Z$/, '000Z');
  }
}

/** Where the archiver's Lease is (settings.ts maps it). */
export interface KubernetesLeaseSettings {
  /** KUBERNETES_SERVICE_HOST: set inside a pod, where the in-cluster credentials are. */
  serviceHost: string | undefined;
  /** LEASE_NAME. */
  name: string;
  /** POD_NAMESPACE. */
  namespace: string;
  /** ARCHIVER_LOCK_TTL_SECONDS. */
  ttlSeconds: number;
}

/**
 * A coordination.k8s.io/v1 Lease, updated with optimistic concurrency (resourceVersion): a concurrent writer
 * makes our replace fail with 409, so two holders can never both believe they own it.
 */
export class KubernetesLeaseLock implements Lease {
  private resourceVersion: string | undefined;

  constructor(
    private readonly api: import('@kubernetes/client-node').CoordinationV1Api,
    readonly name: string,
    readonly namespace: string,
    readonly holder: string,
    private readonly ttlSeconds: number,
    private readonly log: Logger,
  ) {}

  static async create(settings: KubernetesLeaseSettings, log: Logger, holder: string,
    kubeconfigPath?: string): Promise<KubernetesLeaseLock> {
    const k8s = await import('@kubernetes/client-node');
    const kc = new k8s.KubeConfig();
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else if (settings.serviceHost) kc.loadFromCluster();
    else kc.loadFromDefault();
    return new KubernetesLeaseLock(kc.makeApiClient(k8s.CoordinationV1Api), settings.name,
      settings.namespace, holder, settings.ttlSeconds, log);
  }

  private spec(acquireTime: Date) {
    return {
      holderIdentity: this.holder, leaseDurationSeconds: this.ttlSeconds,
      acquireTime: new MicroTime(acquireTime.getTime()), renewTime: new MicroTime(),
    };
  }

  async tryAcquire(): Promise<boolean> {
    let lease;
    try {
      lease = await this.api.readNamespacedLease({ name: this.name, namespace: this.namespace });
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      try {
        const created = await this.api.createNamespacedLease({ namespace: this.namespace, body: {
          metadata: { name: this.name, namespace: this.namespace }, spec: this.spec(new Date()),
        } });
        this.resourceVersion = created.metadata?.resourceVersion;
        return true;
      } catch (e) {
        if (statusOf(e) === 409) return false;
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expired = renewed + (spec.leaseDurationSeconds ?? this.ttlSeconds) * 1000 < Date.now();
    if (spec.holderIdentity && spec.holderIdentity !== this.holder && !expired) return false;
    try {
      const replaced = await this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body: {
        metadata: { name: this.name, namespace: this.namespace, resourceVersion: lease.metadata?.resourceVersion },
        spec: spec.holderIdentity === this.holder
          ? { ...this.spec(new Date(spec.acquireTime ?? Date.now())), leaseTransitions: spec.leaseTransitions }
          : { ...this.spec(new Date()), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 },
      } });
      this.resourceVersion = replaced.metadata?.resourceVersion;
      return true;
    } catch (e) {
      if (statusOf(e) === 409) return false;
      throw e;
    }
  }

  async renew(): Promise<boolean> {
    try {
      const current = await this.api.readNamespacedLease({ name: this.name, namespace: this.namespace });
      if (current.spec?.holderIdentity !== this.holder || current.metadata?.resourceVersion !== this.resourceVersion) {
        return false;
      }
      const replaced = await this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body: {
        metadata: { name: this.name, namespace: this.namespace, resourceVersion: this.resourceVersion },
        spec: { ...current.spec, renewTime: new MicroTime() },
      } });
      this.resourceVersion = replaced.metadata?.resourceVersion;
      return true;
    } catch (e) {
      if (statusOf(e) === 409 || statusOf(e) === 404) return false;
      throw e;
    }
  }

  async release(): Promise<void> {
    // Giving the lease up = marking it expired, so the next run need not wait out the duration.
    try {
      const current = await this.api.readNamespacedLease({ name: this.name, namespace: this.namespace });
      if (current.spec?.holderIdentity !== this.holder) return;
      await this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body: {
        metadata: { name: this.name, namespace: this.namespace, resourceVersion: current.metadata?.resourceVersion },
        spec: { ...current.spec, holderIdentity: undefined, renewTime: new MicroTime(0) },
      } });
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'lease release failed; it will expire');
    }
  }
}

function statusOf(err: unknown): number | undefined {
  const e = err as { code?: number; statusCode?: number; response?: { statusCode?: number } };
  return e.code ?? e.statusCode ?? e.response?.statusCode;
}

