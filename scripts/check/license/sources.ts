/**
 * What the gate reads by default: everything the project's scripts install. Another server resolved with
 * Maven joins by adding its jar directory to MAVEN_LIB_DIRS here (or LICENSE_MAVEN_LIB_DIRS / --maven-lib
 * at run time), a single artifact by group:artifact:version (--maven-coord).
 */
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CACHE = process.env.EPHEMERA_CACHE ?? path.join(os.homedir(), '.cache', 'ephemera');

/** scripts/dev/tools.sh's Go tools (built before the gate runs: `make license-check` builds them). */
export const GO_TOOLS = ['helm', 'kubeconform', 'helm-unittest', 'vegeta', 'versitygw'];
/** Built on request (docker-compose by `make compose-config`, skaffold by `make skaffold`): checked where built. */
export const OPTIONAL_GO_TOOLS = ['docker-compose', 'skaffold'];
/**
 * scripts/dev/k8s.sh's control plane and the pods node's kubelet, kube-proxy and kubectl, checked where they were
 * built (`make k8s-build`; CI runs test-k8s and test-pods only then).
 */
export const K8S_BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok',
  'kubelet', 'kube-proxy', 'kubectl'];
/** scripts/dev/pods.sh's CNI plugins and crictl (Go, from the module proxy), checked where built. */
export const POD_BINARIES = ['bridge', 'host-local', 'loopback', 'crictl'];
/**
 * scripts/dev/pods/metrics.sh's Prometheus (Go module proxy; Debian's lacks kubernetes_sd_configs) and prometheus-adapter,
 * `<cache>/<dir prefix>-v<version>/bin/<binary>`, checked where built (`make test-autoscale`).
 */
export const METRICS_BINARIES: Array<[RegExp, string]> = [[/^prometheus-v[\d.]+$/, 'prometheus'],
  [/^prometheus-adapter-v[\d.]+$/, 'adapter']];

/** Jar directories under the cache, relative glob-free prefixes: `<prefix>-<version>/lib`. */
export const MAVEN_LIB_DIRS = ['cassandra', 'opensearch'];

export function goBinaries(): { present: string[]; missing: string[] } {
  const present: string[] = [];
  const missing: string[] = [];
  for (const t of GO_TOOLS) (existsSync(path.join(CACHE, 'bin', t)) ? present : missing).push(path.join(CACHE, 'bin', t));
  for (const t of OPTIONAL_GO_TOOLS) if (existsSync(path.join(CACHE, 'bin', t))) present.push(path.join(CACHE, 'bin', t));
  for (const d of readdirSync(CACHE).filter((f) => /^k8s-v[\d.]+$/.test(f))) {
    for (const b of K8S_BINARIES) if (existsSync(path.join(CACHE, d, 'bin', b))) present.push(path.join(CACHE, d, 'bin', b));
  }
  for (const d of readdirSync(CACHE).filter((f) => /^pods-cni-v[\d.]+$/.test(f))) {
    for (const b of POD_BINARIES) if (existsSync(path.join(CACHE, d, 'bin', b))) present.push(path.join(CACHE, d, 'bin', b));
  }
  for (const [dir, b] of METRICS_BINARIES) {
    for (const d of readdirSync(CACHE).filter((f) => dir.test(f))) {
      if (existsSync(path.join(CACHE, d, 'bin', b))) present.push(path.join(CACHE, d, 'bin', b));
    }
  }
  return { present, missing };
}

export function mavenLibDirs(): string[] {
  const dirs = readdirSync(CACHE)
    .filter((f) => MAVEN_LIB_DIRS.some((p) => f.startsWith(`${p}-`) && /\d/.test(f)))
    .map((f) => path.join(CACHE, f, 'lib'))
    .filter(existsSync);
  const extra = (process.env.LICENSE_MAVEN_LIB_DIRS ?? '').split(':').filter(Boolean);
  return [...dirs, ...extra];
}

export const MAVEN_REPO = process.env.MAVEN_REPO_LOCAL || path.join(os.homedir(), '.m2', 'repository');
export const VENV = path.join(CACHE, 'venv');
