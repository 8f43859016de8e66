/**
 * `read` of each item, `width` at a time, yielded in item order (nulls dropped): a consumer streaming the results
 * into bulks holds at most `width` results besides its own buffer, whatever the number of items.
 */
export async function* orderedReads<I, O>(items: I[], width: number, read: (item: I) => Promise<O | null>):
  AsyncGenerator<O> {
  const pending: Array<Promise<O | null>> = [];
  let next = 0;
  while (next < items.length || pending.length > 0) {
    while (pending.length < width && next < items.length) {
      const result = read(items[next++]!);
      // Handled here, so a read failing while an earlier one is awaited is no unhandled rejection; its failure
      // still surfaces when its turn comes.
      result.catch(() => undefined);
      pending.push(result);
    }
    const value = await pending.shift()!;
    if (value !== null) yield value;
  }
}
