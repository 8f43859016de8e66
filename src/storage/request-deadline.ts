import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * A request's storage deadline: its statements end within `ms` of its first statement, whatever faults they meet;
 * the time spent in the body store (bounded by S3_REQUEST_TIMEOUT_MS on its own) does not count (`offStorageClock`).
 *
 * Without it, the settle paths multiplied the driver's 2 s statement timeout: a chat message create or an edit
 * whose conditional write timed out settled with up to three SERIAL reads, each of which could time out too (an
 * edit took 7.8 s with one node frozen, a create 6.5 s with two of three nodes down: test/cluster, 2026-12-07).
 * The clock starts at the first statement, not at the request, so a slow client's upload does not eat it; the
 * raw-body routes (an upload of up to 64 MiB between their statements) run without one (`withoutStorageDeadline`),
 * as do the pages a list streams after its first (cutting those would cut a response whose earlier pages are
 * claimed already).
 */
interface Budget {
  ms: number;
  startedAt: number | null;
  /** Calls off the clock in progress (a page's body reads run several at once), and when the first began. */
  paused: number;
  pausedAt: number;
}

const current = new AsyncLocalStorage<Budget>();

/** Runs `run` with a storage deadline of `ms` from its first statement. */
export function withStorageDeadline<T>(ms: number, run: () => Promise<T>): Promise<T> {
  return current.run({ ms, startedAt: null, paused: 0, pausedAt: 0 }, run);
}

/**
 * Runs `run` (a body store call, which has its own timeout) with the request's storage clock stopped: the
 * deadline moves on by the time it took.
 */
export async function offStorageClock<T>(run: () => Promise<T>): Promise<T> {
  const budget = current.getStore();
  if (budget === undefined) return run();
  if (budget.paused++ === 0) budget.pausedAt = Date.now();
  try {
    return await run();
  } finally {
    if (--budget.paused === 0 && budget.startedAt !== null) budget.ms += Date.now() - budget.pausedAt;
  }
}

/** Runs `run` outside any storage deadline (and so do the continuations it creates). */
export function withoutStorageDeadline<T>(run: () => T): T {
  return current.exit(run);
}

/**
 * Milliseconds this request's storage work has left (Infinity outside a request); the first call of a request
 * starts its clock.
 */
export function storageTimeLeft(now = Date.now()): number {
  const budget = current.getStore();
  if (budget === undefined) return Number.POSITIVE_INFINITY;
  budget.startedAt ??= now;
  return budget.startedAt + budget.ms - now;
}

/** A statement cut at the request's storage deadline: its outcome is as open as a driver timeout's. */
export class StorageDeadlinePassed extends Error {
  constructor(readonly statement: string) {
    super(`${statement}: the request's storage deadline passed`);
  }
}

/**
 * `pending`, or a StorageDeadlinePassed after `leftMs`, whichever settles first (outside a request, `pending`).
 * The driver's own timeout does not cover the time a statement waits for a connection before it is written, so
 * every statement of a request gets the timer (one timer per statement: microseconds, against ~1 ms of CPU per
 * request).
 */
export function cutAtDeadline<T>(statement: string, pending: Promise<T>, leftMs: number): Promise<T> {
  if (leftMs === Number.POSITIVE_INFINITY) return pending;
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StorageDeadlinePassed(statement)), leftMs);
  });
  // The statement may still fail after the cut; its error was already superseded.
  pending.catch(() => undefined);
  return Promise.race([pending, cut]).finally(() => clearTimeout(timer));
}
