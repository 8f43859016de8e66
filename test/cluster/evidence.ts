import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { ServiceProcess } from '../support/processes.js';
import { requestId } from './history.js';

/** Where a failed run's evidence goes: committed beside the old node-kill history (docs/design.md, "Measured on three nodes"). */
export const EVIDENCE_DIR = join(import.meta.dirname, 'histories');

const nodeLog = (n: number) => join(process.env.CLUSTER_DIR ?? join(process.env.EPHEMERA_CACHE ?? join(homedir(), '.cache', 'ephemera'), 'cluster'),
  `node${n}`, 'logs', 'system.log');

/** Each node's system.log size now: the evidence keeps only what the run appended. */
export function nodeLogMarks(): number[] {
  return [1, 2, 3].map((n) => (existsSync(nodeLog(n)) ? statSync(nodeLog(n)).size : 0));
}

/**
 * Keeps what a failed run needs to be diagnosed without re-running it (the 2026-11-29 failure had to be inferred
 * for want of them): the history, each service's log, each node's system.log since the run began, and per
 * operation the Cassandra nodes that coordinated it (from the access log, by x-request-id). Gzipped.
 */
export function keepEvidence(historyFile: string, services: ServiceProcess[], marks: number[]): string {
  const dir = join(EVIDENCE_DIR, basename(historyFile, '.jsonl'));
  mkdirSync(dir, { recursive: true });
  const put = (name: string, text: string | Buffer) => writeFileSync(join(dir, `${name}.gz`), gzipSync(text));
  put('history.jsonl', readFileSync(historyFile));
  const coordinators: string[] = [];
  services.forEach((s, i) => {
    put(`service-${i + 1}.log`, `${s.logs.join('\n')}\n`);
    for (const line of s.logs) {
      if (!line.includes('"db"')) continue;
      try {
        const l = JSON.parse(line) as { reqId?: string; status?: number; db?: string[] };
        const op = Number(/^op-(\d+)$/.exec(l.reqId ?? '')?.[1] ?? NaN);
        if (l.reqId === requestId(op)) coordinators.push(JSON.stringify({ op, service: i + 1, status: l.status, db: l.db }));
      } catch { /* not a JSON line */ }
    }
  });
  put('coordinators.jsonl', `${coordinators.join('\n')}\n`);
  [1, 2, 3].forEach((n, i) => {
    if (!existsSync(nodeLog(n))) return;
    put(`node${n}-system.log`, readFileSync(nodeLog(n)).subarray(marks[i] ?? 0));
  });
  return dir;
}

/** Runs the assertions of a fault run; if one fails (or CLUSTER_EVIDENCE=always), keeps the evidence and names its directory. */
export async function withEvidence(historyFile: string, services: ServiceProcess[], marks: number[], asserts: () => void | Promise<void>): Promise<void> {
  try {
    await asserts();
    // CLUSTER_EVIDENCE=always keeps a passing run's evidence too: its isolated errors are worth reading.
    if (process.env.CLUSTER_EVIDENCE === 'always') console.log(`evidence kept in ${keepEvidence(historyFile, services, marks)}`);
  } catch (err) {
    const dir = keepEvidence(historyFile, services, marks);
    if (err instanceof Error) err.message += `\nevidence kept in ${dir}`;
    throw err;
  }
}
