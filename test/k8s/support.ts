/**
 * Shared helpers for the suites that run against the local control plane of scripts/dev/k8s.sh
 * (test/k8s/run.sh brings it up and sets EPHEMERA_K8S_KUBECONFIG).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';

const run = promisify(execFile);

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHART = path.join(REPO, 'charts/ephemera');
export const CACHE = process.env.EPHEMERA_CACHE ?? path.join(os.homedir(), '.cache/ephemera');
export const HELM = process.env.HELM ?? path.join(CACHE, 'bin/helm');
/** What the API server reports (scripts/dev/k8s.sh KUBE_VERSION); helm template needs it told. */
export const KUBE_VERSION = process.env.EPHEMERA_K8S_VERSION ?? '1.34.4';
/** 1 when kube-scheduler + kwok run: Pods get a (fake) node, so hook Jobs complete and --wait works. */
export const KWOK = process.env.EPHEMERA_K8S_KWOK === '1';

export const KUBECONFIG = process.env.EPHEMERA_K8S_KUBECONFIG ?? path.join(CACHE, 'k8s-run/admin.kubeconfig');
if (!existsSync(KUBECONFIG)) {
  throw new Error(`no kubeconfig at ${KUBECONFIG}: run test/k8s/run.sh (or scripts/dev/k8s.sh up) first`);
}

export const kc = new k8s.KubeConfig();
kc.loadFromFile(KUBECONFIG);
export const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
export const core = kc.makeApiClient(k8s.CoreV1Api);
export const batch = kc.makeApiClient(k8s.BatchV1Api);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function statusOf(err: unknown): number | undefined {
  const e = err as { code?: number; statusCode?: number };
  return e.code ?? e.statusCode;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>,
  timeoutMs = 60_000, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    }
    await sleep(everyMs);
  }
}

/** helm with the test cluster's kubeconfig; rejects with helm's stderr. */
export async function helm(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run(HELM, args, {
      env: { ...process.env, KUBECONFIG, HELM_CACHE_HOME: path.join(CACHE, 'helm-cache'),
        HELM_CONFIG_HOME: path.join(CACHE, 'helm-config'), HELM_DATA_HOME: path.join(CACHE, 'helm-data') },
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`helm ${args.join(' ')} failed: ${e.stderr || e.message}`, { cause: err });
  }
}

/** `helm install`: with kwok the pre-install migration hook runs and completes; without, --no-hooks. */
export function installArgs(release: string, namespace: string, values: string[]): string[] {
  const hooks = KWOK ? ['--wait', '--timeout', '180s'] : ['--no-hooks'];
  return ['install', release, CHART, '-n', namespace, '--create-namespace', ...hooks, ...values];
}
export function upgradeArgs(release: string, namespace: string, values: string[]): string[] {
  const hooks = KWOK ? ['--wait', '--timeout', '180s'] : ['--no-hooks'];
  return ['upgrade', release, CHART, '-n', namespace, ...hooks, ...values];
}

export type Obj = k8s.KubernetesObject & { spec?: unknown; [k: string]: unknown };

export function parseManifest(text: string): Obj[] {
  return (k8s.loadAllYaml(text) as Array<Obj | null>).filter((o): o is Obj => !!o && !!o.kind);
}

export async function readLive(o: Obj): Promise<Obj | undefined> {
  try {
    return JSON.parse(JSON.stringify(await objects.read(o as k8s.KubernetesObject & { metadata: { name: string } }))) as Obj;
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

/**
 * Every field the chart rendered is on the live object with the same value (the API server adds
 * defaults, so the live object may have more). Returns the mismatching paths.
 */
export function missingFromLive(rendered: unknown, live: unknown, at = ''): string[] {
  if (rendered === null || rendered === undefined) return [];
  if (Array.isArray(rendered)) {
    if (!Array.isArray(live) || live.length !== rendered.length) {
      return [`${at}: rendered ${JSON.stringify(rendered)} live ${JSON.stringify(live)}`];
    }
    return rendered.flatMap((r, i) => missingFromLive(r, live[i], `${at}[${i}]`));
  }
  if (typeof rendered === 'object') {
    if (typeof live !== 'object' || live === null) return [`${at}: missing`];
    const l = live as Record<string, unknown>;
    return Object.entries(rendered as Record<string, unknown>)
      .flatMap(([k, v]) => missingFromLive(v, l[k], `${at}.${k}`));
  }
  if (rendered === live || String(rendered) === String(live)) return [];
  return [`${at}: rendered ${JSON.stringify(rendered)} live ${JSON.stringify(live)}`];
}

/** Each rendered object exists, and its spec (or data/rules...) is on the live object as rendered. */
export async function assertLiveAsRendered(rendered: Obj[]): Promise<void> {
  for (const o of rendered) {
    const live = await readLive(o);
    const id = `${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
    assert.ok(live, `${id} exists`);
    const body: Record<string, unknown> = { ...o };
    delete body.apiVersion;
    delete body.kind;
    delete body.metadata;
    const metadata = o.metadata;
    const problems = [
      ...missingFromLive(metadata?.labels, live.metadata?.labels, '.metadata.labels'),
      ...missingFromLive(body, live),
    ];
    assert.deepEqual(problems, [], `${id} as rendered`);
  }
}

export async function applyCrds(dir: string): Promise<string[]> {
  const { readdirSync, readFileSync } = await import('node:fs');
  const names: string[] = [];
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const crd of parseManifest(readFileSync(path.join(dir, file), 'utf8'))) {
      const existing = await readLive(crd);
      if (existing) {
        crd.metadata = { ...crd.metadata, resourceVersion: existing.metadata?.resourceVersion };
        await objects.replace(crd);
      } else {
        await objects.create(crd);
      }
      names.push(crd.metadata!.name!);
    }
  }
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  for (const name of names) {
    await waitFor(`CRD ${name} Established`, async () => {
      const crd = await ext.readCustomResourceDefinition({ name });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    }, 30_000, 200);
  }
  return names;
}

export async function deleteNamespace(name: string): Promise<void> {
  await core.deleteNamespace({ name }).catch((err: unknown) => {
    if (statusOf(err) !== 404) throw err;
  });
}
