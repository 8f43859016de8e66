import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * One line of a Jepsen-style history: every operation is an `invoke`, later completed by exactly one of
 * `ok` (it happened), `fail` (it certainly did not happen) or `info` (unknown: a timeout, a 5xx, a cut
 * connection). `f` names the operation; `key` is what it is about (a user, a chat).
 */
export type OpType = 'invoke' | 'ok' | 'fail' | 'info';
export type OpName = 'create' | 'list' | 'drain' | 'number' | 'edit' | 'read' | 'fault';

export interface HistoryEvent {
  type: OpType;
  f: OpName;
  /** Pairs an invoke with its completion. */
  op: number;
  process: string;
  key: string;
  /**
   * create: the unique text sent; ok create: the id; ok list/drain: [id, text] pairs; number: the number given;
   * edit: the body sent, ok: [number, version, body]; read (after the load): ok `{ version, body }`.
   */
  value?: unknown;
  /** HTTP status, when there was one. */
  status?: number;
  error?: string;
  /** Milliseconds since the history started (monotonic). */
  at: number;
}

export type Delivered = Array<[number, string]>;

/** Records an operation's one completion; `headers` tag its HTTP request so the service's access log names the op. */
export type Completion = ((type: Exclude<OpType, 'invoke'>, extra?: Partial<HistoryEvent>) => HistoryEvent)
  & { op: number; headers: Record<string, string> };

/** The x-request-id of operation `op`: the service logs it with the Cassandra nodes that coordinated it. */
export const requestId = (op: number) => `op-${op}`;

/** Appends every event to a JSON-lines file as it happens, so a crashed run still leaves its history. */
export class History {
  readonly events: HistoryEvent[] = [];
  private readonly t0 = performance.now();
  private next = 0;

  constructor(readonly file: string) { mkdirSync(dirname(file), { recursive: true }); }

  now(): number { return Math.round((performance.now() - this.t0) * 10) / 10; }

  /** Records the invocation; the returned function records the one completion. */
  invoke(f: OpName, process: string, key: string, value?: unknown): Completion {
    const op = this.next++;
    this.add({ type: 'invoke', f, op, process, key, value, at: this.now() });
    let done = false;
    return Object.assign((type: Exclude<OpType, 'invoke'>, extra: Partial<HistoryEvent> = {}) => {
      if (done) throw new Error(`operation ${op} completed twice`);
      done = true;
      return this.add({ type, f, op, process, key, at: this.now(), ...extra });
    }, { op, headers: { 'x-request-id': requestId(op) } });
  }

  /** A fault marker (kill, start, partition, heal) on the same clock. */
  mark(what: string): void { this.add({ type: 'info', f: 'fault', op: this.next++, process: 'nemesis', key: what, at: this.now() }); }

  private add(e: HistoryEvent): HistoryEvent {
    this.events.push(e);
    appendFileSync(this.file, `${JSON.stringify(e)}\n`);
    return e;
  }
}

export function readHistory(file: string): HistoryEvent[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as HistoryEvent);
}
