/** Waits `ms` milliseconds (0 or less: the next turn of the event loop). */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Runs `work` over `items` with at most `width` calls in flight (a new one starts as soon as one ends). After a
 * failure no new call starts, and the promise rejects with the first error only once the calls in flight have
 * ended: a caller that gives up (a run that lost its lock, a failed bucket) never leaves work running behind it.
 */
export async function inParallel<T>(items: readonly T[], width: number, work: (item: T) => Promise<unknown>):
  Promise<void> {
  let next = 0;
  let failed: { error: unknown } | null = null;
  await Promise.all(Array.from({ length: Math.min(Math.max(1, width), items.length) }, async () => {
    while (failed === null && next < items.length) {
      try {
        await work(items[next++]!);
      } catch (error) {
        failed ??= { error };
      }
    }
  }));
  if (failed !== null) throw (failed as { error: unknown }).error;
}
