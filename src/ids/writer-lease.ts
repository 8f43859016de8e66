import { num, type Db } from '../storage/cassandra.js';
import type { Logger } from '../logger.js';
import { MAX_WRITERS } from './id-layout.js';
import { IdGenerator } from './id-generator.js';
import { unavailable } from '../errors.js';
import { decideCas } from '../storage/cas.js';
import { processIdentity } from '../process-identity.js';
import { writerIdGauge, writerLeaseHeld } from '../observability/metrics.js';

/** Leases made in this process (tests run several servers in one): each gets its own identity. */
let instances = 0;

/** A holder stops issuing this long before its lease runs out, and a claimer waits this long after. */
const STOP_MARGIN_MS = 1_000;
const CLAIM_MARGIN_MS = 5_000;

interface Slot { writer_id: number; owner: string | null; valid_until: number }

/**
 * Claims one of the 128 writer slots with a lightweight transaction and renews it. The row is never deleted:
 * its `valid_until` is the horizon above which the next holder starts issuing, so a slot that changes hands
 * (even between pods with skewed clocks) never yields an id twice.
 *
 * Its upkeep keeps its own rule, not the lease guard's (storage/lease-guard.ts): there is no run that stops, ids are
 * issued below the horizon `valid_until` − 1 s, a renewal moves that horizon (never back) and a lost slot is claimed
 * again. Only its timer (a renewal every TTL/3) could reuse the worker loop (workers/loop.ts); it stays here because
 * ids/ is a floor below workers/ and this timer is unref'd (it must not keep a stopping process alive).
 */
export class WriterLease {
  private generator: IdGenerator | null = null;
  private validUntil = 0;
  private timer: NodeJS.Timeout | null = null;
  private renewing: Promise<void> | null = null;
  private stopped = false;
  readonly owner: string;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly ttlMs: number,
    /** config.POD_NAME: the lease's owner is processIdentity(podName, `writer-<n>`), n counting this process's leases. */
    podName: string,
    /** Where the search for a free slot begins (random by default, which spreads concurrent claimers). */
    private readonly firstSlot = Math.floor(Math.random() * MAX_WRITERS),
  ) {
    this.owner = processIdentity(podName, `writer-${++instances}`);
  }

  get writerId(): number | null {
    return this.generator?.writer ?? null;
  }

  get held(): boolean {
    return this.generator !== null && Date.now() < this.validUntil - STOP_MARGIN_MS;
  }

  /** The upkeep timer starts first, so a failed first claim is retried by it rather than left to readiness. */
  async start(): Promise<void> {
    this.timer ??= setInterval(() => { void this.tick(); }, Math.floor(this.ttlMs / 3)).unref();
    if (!this.generator) await this.tick();
    if (!this.generator) throw unavailable('no id-writer lease held yet');
  }

  /** Next id, or a 503 when the lease is not (or no longer) held. */
  nextId(): number {
    if (!this.generator || !this.held) {
      if (!this.renewing && !this.stopped) void this.tick();
      throw unavailable('no id-writer lease held');
    }
    return this.generator.next(this.validUntil - STOP_MARGIN_MS);
  }

  private async tick(): Promise<void> {
    if (this.renewing) return this.renewing;
    this.renewing = (this.generator ? this.renew() : this.claim())
      .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'writer lease upkeep failed'))
      .finally(() => { this.renewing = null; });
    return this.renewing;
  }

  private async claim(): Promise<void> {
    const rs = await this.db.execute('writer_lease_scan',
      `SELECT writer_id, owner, valid_until FROM ${this.db.hot}.writer_leases`, [], { fetchSize: MAX_WRITERS });
    const slots = new Map<number, Slot>();
    for (const r of rs.rows) {
      slots.set(r.get('writer_id') as number, {
        writer_id: r.get('writer_id') as number,
        owner: r.get('owner') as string | null,
        valid_until: num(r.get('valid_until')),
      });
    }
    for (let i = 0; i < MAX_WRITERS; i++) {
      const writer = (this.firstSlot + i) % MAX_WRITERS;
      const slot = slots.get(writer);
      const now = Date.now();
      const validUntil = now + this.ttlMs;
      const target = Math.max(validUntil, (slot?.valid_until ?? 0) + 1);
      // "Not applied" showing our own owner and horizon is our own earlier send; an open outcome is read back.
      const ours = (row?: { get(c: string): unknown }) =>
        row?.get('owner') === this.owner && num(row?.get('valid_until')) === target;
      const readBack = async () => ours((await this.db.execute('writer_lease_read',
        `SELECT owner, valid_until FROM ${this.db.hot}.writer_leases WHERE writer_id = ?`, [writer],
        { consistency: this.db.serial })).first() ?? undefined);
      let applied: boolean;
      if (!slot) {
        applied = await decideCas(async () => {
          const rs = await this.db.execute('writer_lease_insert',
            `INSERT INTO ${this.db.hot}.writer_leases (writer_id, owner, valid_until) VALUES (?, ?, ?) IF NOT EXISTS`,
            [writer, this.owner, target]);
          return rs.wasApplied() || ours(rs.first() ?? undefined);
        }, readBack);
      } else if (!slot.owner || slot.valid_until < now - CLAIM_MARGIN_MS) {
        applied = await decideCas(async () => {
          const rs = await this.db.execute('writer_lease_takeover',
            `UPDATE ${this.db.hot}.writer_leases SET owner = ?, valid_until = ? WHERE writer_id = ?
             IF owner = ? AND valid_until = ?`,
            [this.owner, target, writer, slot.owner, slot.valid_until]);
          return rs.wasApplied() || ours(rs.first() ?? undefined);
        }, readBack);
      } else {
        continue;
      }
      if (!applied) continue;
      this.generator = new IdGenerator(writer, slot?.valid_until ?? 0);
      this.validUntil = target;
      writerLeaseHeld.set(1);
      writerIdGauge.set(writer);
      this.log.info({ writer, owner: this.owner }, 'writer lease claimed');
      return;
    }
    throw unavailable('no free id-writer slot');
  }

  private async renew(): Promise<void> {
    const validUntil = Math.max(Date.now() + this.ttlMs, this.validUntil);
    const rs = await this.db.execute('writer_lease_renew',
      `UPDATE ${this.db.hot}.writer_leases SET valid_until = ? WHERE writer_id = ? IF owner = ?`,
      [validUntil, this.generator!.writer, this.owner]);
    if (rs.wasApplied()) {
      this.validUntil = validUntil;
      return;
    }
    this.log.error({ writer: this.generator!.writer }, 'writer lease lost; claiming another slot');
    this.drop();
    await this.claim();
  }

  private drop(): void {
    this.generator = null;
    this.validUntil = 0;
    writerLeaseHeld.set(0);
    writerIdGauge.set(-1);
  }

  /** Frees the slot at once, leaving the horizon of the ids issued so the next holder starts above it. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.renewing) await this.renewing;
    const gen = this.generator;
    this.drop();
    if (!gen) return;
    try {
      await this.db.execute('writer_lease_release',
        `UPDATE ${this.db.hot}.writer_leases SET owner = null, valid_until = ? WHERE writer_id = ? IF owner = ?`,
        [Math.max(gen.horizonUnixMs, 0) + 1, gen.writer, this.owner]);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'writer lease release failed; it will expire');
    }
  }
}
