/** Shards per expiry-index bucket (fixed: changing it would orphan index rows). 16 spread one minute's writes. */
export const EXPIRY_SHARDS = 16;
/** Mixes the sequence bits into the shard, so one millisecond's ids still spread. */
export const shardOf = (id: number) => (Math.floor(id / 4096) + (id % 4096)) % EXPIRY_SHARDS;
