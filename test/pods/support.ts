/**
 * Helpers for the suites of make test-pods (test/pods/run.sh): the release installed by scripts/dev/pods.sh on
 * the node that runs real containers, reached at TEST_BASE_URL (the Service, relayed to the host's loopback).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO, core } from '../k8s/support.js';

const run = promisify(execFile);

export const NAMESPACE = process.env.PODS_NAMESPACE ?? 'ephemera';
export const RELEASE = process.env.PODS_RELEASE ?? 'ephemera';
export const BASE_URL = process.env.TEST_BASE_URL ?? '';
if (!BASE_URL) throw new Error('TEST_BASE_URL is not set: run test/pods/run.sh (make test-pods)');

/** A command inside the node's network namespace: the only place pod addresses are reachable from. */
export async function inNodeNamespace(...args: string[]): Promise<string> {
  const { stdout } = await run(path.join(REPO, 'scripts/dev/pods.sh'), ['ns', ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** The release's API server pods (component "server"). */
export async function serverPods() {
  const pods = await core.listNamespacedPod({ namespace: NAMESPACE,
    labelSelector: `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=server` });
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp);
}

/** Sum of ephemera_http_requests_total on one pod, probes and scrapes left out, read from that pod's /metrics. */
export async function requestsServed(podIp: string): Promise<number> {
  const text = await inNodeNamespace('curl', '-fsS', '--max-time', '5', `http://${podIp}:8080/metrics`);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('ephemera_http_requests_total{') && !/route="\/(healthz|readyz|metrics)"/.test(line)) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}
