/** What a pass says of itself; the loop only tells failures ('failure', 'unavailable') from the rest. */
export type PassOutcome = 'success' | 'failure' | 'unavailable' | 'locked' | 'paused';

export interface LoopOptions {
  /**
   * After consecutive failed passes, skip 0, 1, 3, then 7 ticks before the next try (OpenSearch restarting, a
   * store down), instead of trying every tick. A pass that resolves to nothing (the skew gate was closed) leaves
   * the count where it was.
   */
  backoff?: boolean;
}

export interface Loop { stop(): Promise<void> }

/**
 * The one timer loop of the workers (archiver, counts, indexer and body sweeper inside `serve`, and the counts and
 * indexer processes): `pass` every `everySeconds`, never two at once (a tick while a pass runs is dropped, not
 * queued). `stop()` clears the timer and resolves once the pass in flight ended, so the caller may close what the
 * pass uses (the driver) right after.
 */
export function startLoop(pass: () => Promise<PassOutcome | void>, everySeconds: number, opts: LoopOptions = {}): Loop {
  let running: Promise<void> | null = null;
  let skip = 0;
  let failures = 0;
  const tick = () => {
    if (running) return;
    if (skip > 0) { skip--; return; }
    running = pass()
      .then((outcome) => {
        if (!opts.backoff || !outcome) return;
        failures = outcome === 'failure' || outcome === 'unavailable' ? Math.min(8, failures * 2 || 1) : 0;
        skip = Math.max(0, failures - 1);
      })
      .finally(() => { running = null; });
  };
  const timer = setInterval(tick, everySeconds * 1000);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
