import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Which Cassandra nodes coordinated the statements of one request, for the access log: a fault run's history
 * (test/cluster) can then tell which node answered each operation, e.g. a restarted node serving stale Paxos
 * state (issue 27), instead of inferring it. A Set per request, at most a few entries (three nodes in the ring).
 */
const current = new AsyncLocalStorage<Set<string>>();

export function withCoordinators<T>(run: () => Promise<T>): { hosts: Set<string>; done: Promise<T> } {
  const hosts = new Set<string>();
  return { hosts, done: current.run(hosts, run) };
}

/** Notes the coordinator of a statement (outside a request, a no-op). */
export function noteCoordinator(host: string | undefined): void {
  if (host) current.getStore()?.add(host);
}
