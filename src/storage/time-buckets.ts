/**
 * Minute buckets of the time-bucketed logs (the expiry index today). Fixed: changing the width would orphan
 * every row already written.
 */
export const BUCKET_MS = 60_000;
export const bucketOf = (ms: number) => Math.floor(ms / BUCKET_MS);
