/**
 * CPU time spent during the attack, per request: vegeta's (a child of this process: its time is added to
 * this process's cutime/cstime when it is reaped), this generator's own, the service's (SERVICE_PID) and the
 * local Cassandra's (found by its CQL port), the latter also net of its idle rate just before, since other
 * clients share it on this machine; and the local OpenSearch's (found by the port of OPENSEARCH_URL), net the
 * same way: a search costs more there than in the service.
 */
import { readFileSync } from 'node:fs';
import { cpuSeconds, findCassandraPid, localOpenSearchPid } from '../bench/measure.js';

const TICK = 100; // USER_HZ
function reapedChildrenSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / TICK; // cutime + cstime
}
const round = (v: number) => Math.round(v * 1000) / 1000;

export async function cpuMeter(cassandraBaseline: boolean) {
  const servicePid = Number(process.env.SERVICE_PID) || null;
  const contact = (process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042').split(',')[0]!.trim();
  const cqlPort = Number(/:(\d+)$/.exec(contact)?.[1] ?? 9042);
  const cassandraPid = findCassandraPid(cqlPort, contact.replace(/:\d+$/, ''));
  const openSearchPid = localOpenSearchPid();
  let idleCores = 0;
  let osIdleCores = 0;
  if (cassandraBaseline && (cassandraPid || openSearchPid)) {
    const c0 = cassandraPid ? cpuSeconds(cassandraPid) : 0;
    const o0 = openSearchPid ? cpuSeconds(openSearchPid) : 0;
    await new Promise((r) => setTimeout(r, 2000));
    idleCores = cassandraPid ? (cpuSeconds(cassandraPid) - c0) / 2 : 0;
    osIdleCores = openSearchPid ? (cpuSeconds(openSearchPid) - o0) / 2 : 0;
  }
  const t0 = Date.now();
  const kids0 = reapedChildrenSeconds();
  const me0 = process.cpuUsage();
  const svc0 = servicePid ? cpuSeconds(servicePid) : 0;
  const cas0 = cassandraPid ? cpuSeconds(cassandraPid) : 0;
  const os0 = openSearchPid ? cpuSeconds(openSearchPid) : 0;
  let used: Record<string, number | null> | null = null;
  return {
    /** Call right after vegeta attack exited (before any other child is reaped). */
    stop() {
      const wall = (Date.now() - t0) / 1000;
      const me = process.cpuUsage(me0);
      const cas = cassandraPid ? cpuSeconds(cassandraPid) - cas0 : null;
      used = {
        vegeta: reapedChildrenSeconds() - kids0,
        generator: (me.user + me.system) / 1e6,
        service: servicePid ? cpuSeconds(servicePid) - svc0 : null,
        cassandra: cas,
        cassandra_net: cas === null ? null : Math.max(0, cas - idleCores * wall),
        opensearch_net: openSearchPid ? Math.max(0, cpuSeconds(openSearchPid) - os0 - osIdleCores * wall) : null,
      };
    },
    /** ms of CPU per request for each party (null: not measured). */
    perRequest(requests: number): Record<string, number | null> {
      if (!used) throw new Error('cpuMeter: stop() was not called');
      const out: Record<string, number | null> = {};
      for (const [k, v] of Object.entries(used)) out[`${k}_ms_per_req`] = v === null || !requests ? null : round((v * 1000) / requests);
      out.cassandra_idle_cores = cassandraPid ? round(idleCores) : null;
      out.opensearch_idle_cores = openSearchPid ? round(osIdleCores) : null;
      return out;
    },
  };
}
