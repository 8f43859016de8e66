/**
 * User popularity: rank r of 1..n is drawn with weight 1/r^s (Zipf). With n = 10 000 and s = 1 the top user
 * gets ~10 % of the traffic and the top 100 ~53 %: a few chatty users, a long tail.
 */
export function zipfSampler(n: number, s: number, random: () => number = Math.random): () => number {
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let r = 1; r <= n; r++) { acc += 1 / Math.pow(r, s); cdf[r - 1] = acc; }
  for (let i = 0; i < n; i++) cdf[i]! /= acc;
  // Inverse CDF by binary search: ~14 steps for 10 000 users.
  return () => {
    const u = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1; else hi = mid;
    }
    return lo + 1;
  };
}
