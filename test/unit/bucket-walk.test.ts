import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BucketWalk, type WalkSlice, type WalkSource, type WalkState } from '../../src/storage/bucket-walk.js';

/**
 * The walk's rules with a source and a state kept in memory (the Cassandra-backed ones are exercised by the
 * archiver and bucketed-log suites): entries are numbers, a position is the entry itself, and every entry weighs
 * 100 bytes.
 */
const geometry = { bucketMs: 1_000, settleMs: 500, shards: 4, sliceBytes: 1_000 };
/** A clock at which buckets 0..9 have settled. */
const NOW = 10_500;

class MemorySource implements WalkSource<number, number> {
  scans = 0;
  constructor(private readonly rows: Map<string, number[]>) {}
  async scan(bucket: number, shard: number, after: number | null, limit: number): Promise<WalkSlice<number, number>> {
    this.scans += 1;
    const all = (this.rows.get(`${bucket}/${shard}`) ?? []).filter((e) => after === null || e > after);
    const entries = all.slice(0, limit);
    return { entries, bytes: entries.length * 100, more: all.length > limit, last: entries.at(-1) ?? null };
  }
}

class MemoryState implements WalkState<number> {
  writes: string[] = [];
  done: number | null = null;
  positions = new Map<number, { bucket: number; position: number }>();
  async checkpoint() { return this.done; }
  async setCheckpoint(bucket: number) { this.writes.push(`checkpoint ${bucket}`); this.done = bucket; }
  async progress(bucket: number) {
    return new Map([...this.positions].filter(([, p]) => p.bucket === bucket).map(([s, p]) => [s, p.position]));
  }
  async setProgress(bucket: number, shard: number, position: number) {
    this.writes.push(`progress ${bucket}/${shard}`);
    this.positions.set(shard, { bucket, position });
  }
}

/** `perShard` entries in each shard of each given bucket; entry = bucket * 1e6 + shard * 1e4 + i. */
function rows(buckets: number[], perShard: number): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const b of buckets) {
    for (let s = 0; s < geometry.shards; s++) {
      out.set(`${b}/${s}`, Array.from({ length: perShard }, (_, i) => b * 1e6 + s * 1e4 + i));
    }
  }
  return out;
}

describe('the bucket walk', () => {
  it('when settled buckets wait after the checkpoint, then each entry is handed over once, in slices of the byte budget, and the checkpoint moves bucket by bucket', async () => {
    const source = new MemorySource(rows([6, 8], 300));
    const state = new MemoryState();
    state.done = 5;
    const seen: number[] = [];
    let largest = 0;
    const walk = new BucketWalk(source, state, geometry);
    const result = await walk.walk(async (entries) => { seen.push(...entries); largest = Math.max(largest, entries.length); },
      { assertHeld: () => undefined, now: NOW, initial: 0 });
    assert.deepEqual(result, { buckets: 4, entries: 2 * 4 * 300, doneUntil: 9 });
    assert.equal(new Set(seen).size, seen.length, 'no entry twice');
    assert.equal(seen.length, 2 * 4 * 300);
    assert.ok(largest <= 64, `a slice held ${largest} entries of 100 bytes (budget 1000 bytes after the first slice of 64)`);
    assert.deepEqual(state.writes.filter((w) => w.startsWith('checkpoint')), [6, 7, 8, 9].map((b) => `checkpoint ${b}`));
    assert.equal(state.done, 9);
  });

  it('when one shard\'s handler fails, then the walk rejects with that error after every shard stopped, and the next walk hands over exactly what the progress does not cover', async () => {
    const source = new MemorySource(rows([6], 200));
    const state = new MemoryState();
    state.done = 5;
    const handled = new Set<number>();
    let running = 0;
    let calls = 0;
    const failing = new BucketWalk(source, state, geometry);
    const run = failing.walk(async (entries, ctx) => {
      running += 1;
      try {
        if (++calls === 30) throw new Error('injected');
        await ctx.assertHeld();
        await new Promise((r) => setImmediate(r));
        for (const e of entries) handled.add(e);
      } finally {
        running -= 1;
      }
    }, { assertHeld: () => undefined, now: NOW, initial: 0 });
    await assert.rejects(run, /injected/);
    assert.equal(running, 0, 'no handler is still running when the walk returns');
    assert.equal(state.done, 5, 'the checkpoint did not move');
    const covered = new Set<number>();
    const all = rows([6], 200);
    for (const [shard, p] of state.positions) for (const e of all.get(`6/${shard}`)!) if (e <= p.position) covered.add(e);
    assert.ok(covered.size > 0 && covered.size < 800);

    const resumed: number[] = [];
    await new BucketWalk(source, state, geometry).walk(async (entries) => { resumed.push(...entries); },
      { assertHeld: () => undefined, now: NOW, initial: 0 });
    assert.equal(resumed.length, 800 - covered.size, 'the resumed walk handed over exactly the uncovered entries');
    assert.ok(resumed.every((e) => !covered.has(e)));
    assert.equal(state.done, 9);
  });

  it('when the lock is lost, then the walk writes nothing more: no slice, no progress, no checkpoint', async () => {
    const source = new MemorySource(rows([6, 7], 200));
    const state = new MemoryState();
    state.done = 5;
    let held = true;
    let afterLoss = 0;
    let slices = 0;
    let writesAtLoss = -1;
    // The loss becomes known between two I/O callbacks, as a refused renewal's answer would arrive.
    await assert.rejects(new BucketWalk(source, state, geometry).walk(async () => {
      if (!held) afterLoss += 1;
      if (++slices === 10) setImmediate(() => { held = false; writesAtLoss = state.writes.length; });
      await new Promise((r) => setImmediate(r));
    }, { assertHeld: () => { if (!held) throw new Error('lock lost'); }, now: NOW, initial: 0 }), /lock lost/);
    assert.equal(afterLoss, 0, 'no slice was handed over after the loss');
    assert.ok(writesAtLoss >= 0, 'the loss happened mid-walk');
    assert.equal(state.writes.length, writesAtLoss, `writes after the loss: ${state.writes.slice(writesAtLoss).join(', ')}`);
    assert.equal(state.done, 5, 'the checkpoint did not move');
    assert.ok(state.writes.every((w) => w.startsWith('progress 6/')), state.writes.join(', '));
  });

  it('when a consumer has no checkpoint, then it starts after the initial bucket; when caught up, then it reads nothing', async () => {
    const source = new MemorySource(rows([3, 8], 5));
    const state = new MemoryState();
    const seen: number[] = [];
    const first = await new BucketWalk(source, state, geometry).walk(async (e) => { seen.push(...e); },
      { assertHeld: () => undefined, now: NOW, initial: 7 });
    assert.deepEqual(first, { buckets: 2, entries: 20, doneUntil: 9 });
    assert.ok(seen.every((e) => Math.floor(e / 1e6) === 8), 'bucket 3 lies before the initial bucket');
    source.scans = 0;
    const again = await new BucketWalk(source, state, geometry).walk(async () => undefined,
      { assertHeld: () => undefined, now: NOW, initial: 7 });
    assert.deepEqual(again, { buckets: 0, entries: 0, doneUntil: 9 });
    assert.equal(source.scans, 0);
  });
});
