/**
 * make test-pod-kill (PODS_KILL=1 test/pods/run.sh; make test-pods runs it before the rollout): one API pod's
 * server process SIGKILLed under load, the way an OOM kill or a crash ends it: no preStop, no drain, its connections
 * cut with requests in flight. The load is
 * open loop at POD_KILL_RATE requests/s through the Service (undici's keep-alive pool, like a real client), a mix of
 *   POST /chat (inbox creates), GET /chats/:username (deliveries: listed messages expire), GET /chat/:id (reads of
 *   acknowledged ids) and POST /applications/:token/chats/:n/messages (chat message creates, numbered),
 * with POD_KILL_REPLICAS (3) API pods, so that the survivors are as many as carried the load before the kill;
 * every operation recorded in a Jepsen-style history and judged by the fault suites' checker (test/cluster/checker.ts):
 * a 2xx is acknowledged, a 4xx certainly not applied, anything else (5xx, reset, timeout) an unknown outcome that may
 * or may not have been stored and is never counted as lost. Nothing is sent again here: every error is counted.
 * Asserts:
 * - nothing acknowledged lost: every acknowledged inbox message delivered exactly once (or claimed by a list whose
 *   answer was cut: "in doubt") and readable by id with its text; nothing delivered twice or never created;
 * - every acknowledged chat message readable by its number with its body, no number handed out twice;
 * - the errors bounded: at most ERROR_SHARE of the requests completed from the kill to the end of the load, and the
 *   last one within LAST_ERROR_MS of the kill;
 * - the pod back: kubelet restarts the killed container (the same pod: a Deployment replaces a pod only when the pod
 *   itself goes away) and every API pod is Ready again.
 * Prints one summary line (requests, errors by kind, kill -> last error, kill -> Ready again); docs/pods.md records runs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { check } from '../cluster/checker.js';
import { historyFile, newChatPath, unreadable } from '../cluster/cluster-control.js';
import { History, type HistoryEvent } from '../cluster/history.js';
import { create, drain, errText, list, numbered } from '../cluster/load.js';
import * as k8s from '@kubernetes/client-node';
import { REPO, core, kc, sleep, waitFor } from '../k8s/support.js';
import { BASE_URL, NAMESPACE, RELEASE, serverPods } from './support.js';

const run = promisify(execFile);
/** The figure, as for the rollout: 200 requests/s through the Service. */
const RATE = Number(process.env.POD_KILL_RATE ?? 200);
/** Load before the kill: warm keep-alive connections to both pods, and a baseline of errors (expected 0). */
const WARM_MS = 8_000;
/** Load after the killed pod is Ready again: kube-proxy sends it new connections, which must be answered. */
const AFTER_MS = 10_000;
/**
 * Over this many in flight the pods stopped keeping up: counted as "not sent" and reported. While one pod carries
 * all the load on this shared 2-core machine its latency can reach seconds (p99 9.6 s in one run, with a 3-JVM
 * Cassandra ring of another suite beside it), so up to NOT_SENT_SHARE of the schedule may go unsent: that is the
 * machine's capacity, not an error of the service; more means the test did not really put its load through.
 */
const MAX_IN_FLIGHT = 256;
const NOT_SENT_SHARE = 0.01;
/** Latency before the kill above which the machine, not the kill, decides the errors (see the assertion). */
const BASELINE_P99_MS = 2_000;
/** The client's limit per request: twice the service's own REQUEST_TIMEOUT_MS (5 s); reaching it means a hang. */
const CLIENT_TIMEOUT_MS = 10_000;
/** A page stops before a young hole in the ids for the late-row window (16 s, docs/api.md): wait it out. */
const LATE_ROW_MS = 17_000;
const USERS = 20;
/** Chat message creates spread over this many chats: one chat numbered by both pods at 40/s is Paxos contention
 *  on one counter row (503s with or without a fault, README), which is not what this test is about. */
const CHATS = 8;
/**
 * The bounds, from measurement (docs/pods.md, "A pod SIGKILLed under load"): the kill cuts the requests in flight
 * on the pod's connections (~half of ~10-20 in flight at 200/s) and, until kubelet reports the container dead and
 * kube-proxy drops its endpoint (~1-3 s here), new connections kube-proxy sends to the pod's address are refused.
 * Measured (2026-12-07, load average 7-19): 29 errors of 11,149 requests (0.26 %) at 200/s with 2 pods, 29 of 2,712
 * (1.07 %) at 200/s with 3 pods, 16 of 3,252 (0.49 %) at 60/s, all `UND_ERR_SOCKET` (the requests in flight on the
 * killed pod's connections) and all within 0.4-0.9 s of the kill. 2 % and 30 s leave room for a loaded machine (kubelet noticing the death late) without letting pass
 * a dead pod left in the Service (every connection kube-proxy gives it fails: ~half of all requests).
 */
const ERROR_SHARE = 0.02;
const LAST_ERROR_MS = 30_000;

type Outcome = Exclude<HistoryEvent['type'], 'invoke'>;
const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
/**
 * API replicas during the test (the chart's 2 before and after): while the killed one restarts, the others carry all
 * the load, and one pod alone does not carry 200 requests/s on this 2-core machine (p99 past the client's 10 s when
 * other suites run beside it: docs/pods.md). With 3, the survivors are as many as carried the load before the kill,
 * so the errors counted are the kill's, not the machine's capacity: size replicas so that N-1 carry the peak.
 */
const REPLICAS = Number(process.env.POD_KILL_REPLICAS ?? 3);

const allReady = (pods: Awaited<ReturnType<typeof serverPods>>) =>
  pods.every((p) => p.status?.containerStatuses?.every((c) => c.ready));

/** The Deployment scaled to `n` (its scale subresource, as `kubectl scale`), until exactly `n` API pods are Ready. */
async function scaleTo(n: number): Promise<void> {
  const scale = await apps.readNamespacedDeploymentScale({ name: RELEASE, namespace: NAMESPACE });
  scale.spec = { replicas: n };
  await apps.replaceNamespacedDeploymentScale({ name: RELEASE, namespace: NAMESPACE, body: scale });
  await waitFor(`${n} API pods Ready`, async () => {
    const pods = await serverPods();
    return pods.length === n && allReady(pods);
  }, 180_000, 500);
}

/** Whether the Service still sends new connections to `podName`: an endpoint of its EndpointSlices, ready. */
async function inService(podName: string): Promise<boolean> {
  const slices = await discovery.listNamespacedEndpointSlice({ namespace: NAMESPACE,
    labelSelector: `kubernetes.io/service-name=${RELEASE}` });
  return slices.items.some((sl) => sl.endpoints.some((e) => e.targetRef?.name === podName && e.conditions?.ready !== false));
}

/** The 99th percentile of the latencies of the operations completed in [from, to) (ms on the history's clock). */
function p99(events: HistoryEvent[], from: number, to: number): number {
  const invoked = new Map<number, number>();
  const ms: number[] = [];
  for (const e of events) {
    if (e.f === 'fault' || e.f === 'drain') continue;
    if (e.type === 'invoke') invoked.set(e.op, e.at);
    else if (e.at >= from && e.at < to) ms.push(e.at - (invoked.get(e.op) ?? e.at));
  }
  ms.sort((a, b) => a - b);
  return ms.length ? Math.round(ms[Math.floor(ms.length * 0.99)]!) : 0;
}

/** GET /chat/:id of an acknowledged id, recorded as a `read` (the checker judges only edits' reads). */
async function readById(h: History, id: number): Promise<void> {
  const done = h.invoke('read', BASE_URL, `/chat/${id}`);
  try {
    const res = await fetch(`${BASE_URL}/chat/${id}`, { headers: done.headers, signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
    const text = await res.text();
    const type: Outcome = res.status === 200 ? 'ok' : res.status < 500 ? 'fail' : 'info';
    done(type, { status: res.status, ...(type === 'ok' ? {} : { error: text.slice(0, 200) }) });
  } catch (err) {
    done('info', { error: errText(err) });
  }
}

/** The kind of a completion that is not a success: `HTTP 503`, `TypeError: fetch failed (ECONNRESET)`, `TimeoutError: ...`. */
function kindOf(e: HistoryEvent): string | null {
  if (e.type === 'ok') return null;
  return e.status !== undefined ? `HTTP ${e.status}` : (e.error ?? 'unknown').slice(0, 80);
}

/** The server container of a pod: its id in containerd and how often kubelet restarted it. */
async function serverContainer(name: string) {
  const pod = await core.readNamespacedPod({ name, namespace: NAMESPACE });
  const status = pod.status?.containerStatuses?.find((c) => c.name === pod.spec!.containers[0]!.name);
  return { id: status?.containerID?.replace(/^containerd:\/\//, '') ?? '', restarts: status?.restartCount ?? 0,
    ready: status?.ready === true && !!status.state?.running };
}

describe('one API pod SIGKILLed under load', () => {
  it('when an API pod\'s server process is SIGKILLed while requests run through the Service, then the errors are few, counted and over within seconds, nothing acknowledged is lost or delivered twice, and the pod is Ready again', async (t) => {
    const initial = (await serverPods()).length;
    assert.ok(initial >= 2, `>= 2 API pods (${initial})`);
    if (REPLICAS !== initial) {
      await scaleTo(REPLICAS);
      t.after(() => scaleTo(initial));
    }
    const before = await serverPods();
    assert.ok(before.length >= 2, `>= 2 API pods before the kill (${before.length})`);
    const tag = `pk${Date.now().toString(36)}`;
    const users = Array.from({ length: USERS }, (_, i) => `${tag}-u${i}`);
    const chats: string[] = [];
    for (let c = 0; c < CHATS; c++) chats.push(await newChatPath(BASE_URL));
    const h = new History(historyFile('pod-kill'));
    const acked: number[] = [];
    let inFlight = 0;
    let skipped = 0;
    let seq = 0;

    const one = async (i: number) => {
      const user = users[i % USERS]!;
      const slot = i % 10; // 4 inbox creates : 2 lists : 2 reads by id : 2 chat message creates
      if (slot < 4) {
        const id = await create(h, BASE_URL, user, `${tag}-${i}`, CLIENT_TIMEOUT_MS);
        if (id !== null) acked.push(id);
      } else if (slot < 6) await list(h, BASE_URL, user, CLIENT_TIMEOUT_MS);
      else if (slot < 8 && acked.length > 0) await readById(h, acked[acked.length - 1 - (i % Math.min(acked.length, 50))]!);
      else await numbered(h, BASE_URL, chats[i % CHATS]!, `${tag}-${i}`, CLIENT_TIMEOUT_MS);
    };

    // Open loop: RATE requests/s on a schedule whatever the latency (a closed loop would slow down exactly when
    // the pod dies and hide the errors).
    const pending = new Set<Promise<void>>();
    let loading = true;
    const t0 = Date.now();
    const loader = (async () => {
      while (loading) {
        const due = Math.floor(((Date.now() - t0) / 1000) * RATE);
        while (seq < due) {
          if (inFlight >= MAX_IN_FLIGHT) { skipped++; seq++; continue; }
          const i = seq++;
          inFlight++;
          const p = one(i).finally(() => { inFlight--; pending.delete(p); });
          pending.add(p);
        }
        await sleep(5);
      }
    })();

    await sleep(WARM_MS);
    // The pod restarted least: kubelet restarts a container that died for the first time at once, a second time
    // after 10 s, then 20, 40 s... (CrashLoopBackOff); the first death is the case to measure.
    const restarts = (p: typeof before[number]) => p.status?.containerStatuses?.[0]?.restartCount ?? 0;
    const victim = [...before].sort((a, b) => restarts(a) - restarts(b))[0]!.metadata!.name!;
    const container = await serverContainer(victim);
    assert.ok(container.id && container.ready, `the server container of ${victim} runs and is Ready`);
    // The container's main process (node, PID 1 in the container) as the host sees it: the node's pods share the
    // host's PID namespace (pods.sh unshares mount + network only).
    const { stdout: pidText } = await run(path.join(REPO, 'scripts/dev/pods.sh'),
      ['crictl', 'inspect', '-o', 'go-template', '--template', '{{.info.pid}}', container.id]);
    const pid = Number(pidText.trim());
    assert.ok(pid > 1, `the container's pid (${pidText.trim()})`);
    h.mark(`SIGKILL ${victim} pid ${pid}`);
    const killAt = h.now();
    process.kill(pid, 'SIGKILL');

    // Until kubelet restarted the container and it is Ready, and every API pod is Ready (the Service whole again).
    // Also when kubelet reported the container not ready, and when its endpoint left the Service (not ready in the
    // EndpointSlice: kube-proxy then stops sending it new connections); errors past that point are not the kill's.
    let notReadyAt: number | null = null;
    let outOfServiceAt: number | null = null;
    await waitFor(`${victim} restarted and Ready`, async () => {
      const [c, served] = await Promise.all([serverContainer(victim), outOfServiceAt === null ? inService(victim) : true]);
      if (!c.ready) notReadyAt ??= h.now();
      if (!served) outOfServiceAt ??= h.now();
      return c.restarts > container.restarts && c.ready;
    }, 180_000, 250);
    await waitFor('every API pod Ready', async () => {
      const pods = await serverPods();
      return pods.length >= before.length && allReady(pods);
    }, 120_000, 250);
    const readyAt = h.now();
    h.mark(`${victim} Ready again`);
    await sleep(AFTER_MS);
    loading = false;
    await loader;
    await Promise.all(pending);
    const loadEnd = h.now();

    // The history completed: the inboxes drained after the late-row window, as the fault suites do.
    await sleep(LATE_ROW_MS);
    await drain(h, [BASE_URL], users);
    const report = check(h.events);
    const unread = await unreadable(BASE_URL, h.events);
    // Every acknowledged chat message readable by its number, with its body.
    const numberedOk = new Map<number, HistoryEvent>();
    for (const e of h.events) if (e.f === 'number' && e.type === 'invoke') numberedOk.set(e.op, e);
    const chatsUnread: string[] = [];
    for (const e of h.events) {
      if (e.f !== 'number' || e.type !== 'ok') continue;
      const sent = numberedOk.get(e.op)!;
      const res = await fetch(`${BASE_URL}${sent.key}/${String(e.value)}`);
      const body = res.status === 200 ? (await res.json() as { body?: string }).body : undefined;
      if (body !== sent.value) chatsUnread.push(`${sent.key}/${String(e.value)}`);
    }

    // Every completion during the load, by kind; the window is the kill to the end of the load.
    const ops = h.events.filter((e) => e.type !== 'invoke' && e.f !== 'fault' && e.f !== 'drain' && e.at <= loadEnd);
    const kinds = new Map<string, number>();
    let errorsBefore = 0;
    let inWindow = 0;
    let errorsInWindow = 0;
    let lastError: number | null = null;
    for (const e of ops) {
      const kind = kindOf(e);
      if (e.at < killAt) { if (kind) errorsBefore++; continue; }
      inWindow++;
      if (!kind) continue;
      errorsInWindow++;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      lastError = e.at;
    }
    const s = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`);
    const byKind = [...kinds].map(([k, n]) => `${k} x${n}`).join(', ') || 'none';
    const errorAt = ops.filter((e) => e.at >= killAt && kindOf(e)).map((e) => ((e.at - killAt) / 1000).toFixed(2));
    console.log(`# errors at s after the kill: ${errorAt.join(' ') || 'none'}`);
    console.log(`# pod-kill: ${before.length} API pods, ${RATE}/s for ${s(loadEnd)}: ${ops.length} requests completed, ${skipped} of ${seq} not sent (over ` +
      `${MAX_IN_FLIGHT} in flight), ${errorsBefore} errors before the kill; from the kill to the end of the load ` +
      `${inWindow} requests, ${errorsInWindow} errors (${((100 * errorsInWindow) / Math.max(1, inWindow)).toFixed(2)} %): ` +
      `${byKind}; kill -> last error ${s(lastError === null ? null : lastError - killAt)}, kill -> seen not Ready ` +
      `${s(notReadyAt === null ? null : notReadyAt - killAt)}, kill -> out of the EndpointSlice ` +
      `${s(outOfServiceAt === null ? null : outOfServiceAt - killAt)}, kill -> Ready again ${s(readyAt - killAt)} ` +
      `(${victim}); p99 latency before the kill ${p99(h.events, 0, killAt)} ms, after ${p99(h.events, killAt, loadEnd)} ms`);
    console.log(`# checker: ${JSON.stringify(report.inbox)} numbering ${JSON.stringify(report.numbering)}; unreadable ` +
      `${unread}, chat messages unreadable ${chatsUnread.length}; history ${h.file}`);

    // The error bounds mean something only if two pods carried the load before the kill (p99 ~0.3 s at 200/s
    // here with load average ~10; 7.4 s in a run with another suite's 3-JVM ring and two tsc runs beside it,
    // where the kill then cost 31 % errors over 28 s, still nothing lost).
    const before99 = p99(h.events, 0, killAt);
    assert.ok(before99 <= BASELINE_P99_MS, `the machine is too busy for this test: p99 ${before99} ms before the kill`);
    assert.ok(skipped <= Math.ceil(seq * NOT_SENT_SHARE), `the load ran: ${skipped} of ${seq} scheduled requests not sent`);
    assert.ok(report.inbox.acknowledged >= 1_000, `a real load ran (${report.inbox.acknowledged} acknowledged creates)`);
    assert.equal(report.inbox.lost, 0, `acknowledged and never delivered: ${report.lostIds.join(',')}`);
    assert.equal(report.inbox.duplicated, 0, 'no message delivered twice');
    assert.equal(report.inbox.unexpected, 0, 'nothing delivered that was never created');
    assert.equal(unread, 0, 'every acknowledged message readable by id with its text');
    assert.equal(report.numbering?.duplicates, 0, 'no chat message number handed out twice');
    assert.deepEqual(chatsUnread, [], 'every acknowledged chat message readable by its number with its body');
    assert.ok(errorsInWindow <= Math.ceil(inWindow * ERROR_SHARE),
      `errors after the kill: ${errorsInWindow} of ${inWindow} (${byKind})`);
    assert.ok(lastError === null || lastError - killAt <= LAST_ERROR_MS, `last error ${s(lastError! - killAt)} after the kill`);
  });
});
