import { randomBytes } from 'node:crypto';
import { AppError, conflict, notFound } from '../errors.js';
import { decideCas } from '../storage/cas.js';
import type { ChatService } from './chat-service.js';
import { leaseExpired, locked } from './conditions.js';
import type { LeaseStore } from './lease-store.js';
import type { CasMiss, CasResult, ChatMessageStore } from './message-store.js';
import type { EditLease } from './types.js';

/** Lease lengths: 60 s unless asked, at most 300 s (a crashed editor blocks a message for at most 5 minutes). */
export const DEFAULT_LEASE_SECONDS = 60;
export const MAX_LEASE_SECONDS = 300;

/** 128 bits from the CSPRNG, base64url: 22 characters a client sends back as Lease-Token. */
export const newLeaseToken = (): string => randomBytes(16).toString('base64url');

const leaseFor = (token: string, ttlSeconds: number): EditLease =>
  ({ token, expiresAt: new Date(Date.now() + ttlSeconds * 1000) });

/**
 * Edit leases ("one editor at a time"): take, renew, release. Each is one conditional write on the message row;
 * a not-applied answer says why (no row, deleted, held by another, lapsed), and an unknown outcome is settled by
 * a SERIAL read that looks for our own lease token.
 */
export class LeaseService {
  constructor(private readonly chats: ChatService, private readonly leases: LeaseStore,
    private readonly messages: ChatMessageStore) {}

  async acquire(token: string, chat: number, number: number, ttlSeconds: number): Promise<EditLease> {
    const appId = await this.chats.resolve(token, chat);
    for (let round = 0; round < 5; round++) {
      const lease = leaseFor(newLeaseToken(), ttlSeconds);
      let miss: CasMiss | null = null;
      const applied = await decideCas(
        () => this.leases.acquire(appId, chat, number, lease, ttlSeconds).then((r) => keepMiss(r, (m) => { miss = m; })),
        async () => (await this.messages.find(appId, chat, number, true))?.lease?.token === lease.token);
      if (applied) return lease;
      if (miss === null) continue; // unknown outcome, not ours: try again
      await this.refuse(appId, chat, number, miss);
    }
    throw conflict('the lease is changing hands');
  }

  async renew(token: string, chat: number, number: number, leaseToken: string, ttlSeconds: number): Promise<EditLease> {
    const appId = await this.chats.resolve(token, chat);
    const lease = leaseFor(leaseToken, ttlSeconds);
    let miss: CasMiss | null = null;
    const applied = await decideCas(
      () => this.leases.renew(appId, chat, number, lease, ttlSeconds).then((r) => keepMiss(r, (m) => { miss = m; })),
      async () => (await this.messages.find(appId, chat, number, true))?.lease?.expiresAt.getTime() === lease.expiresAt.getTime());
    if (applied) return lease;
    if (miss === null) throw new AppError(409, 'lease_expired', 'the lease could not be renewed; take a new one');
    return this.refuse(appId, chat, number, miss, true);
  }

  /** Ends the lease; releasing a lease that already lapsed is fine (204), one held by another is 423. */
  async release(token: string, chat: number, number: number, leaseToken: string): Promise<void> {
    const appId = await this.chats.resolve(token, chat);
    const applied = await decideCas(
      async () => (await this.leases.release(appId, chat, number, leaseToken)).applied,
      async () => (await this.messages.find(appId, chat, number, true))?.lease?.token !== leaseToken);
    if (applied) return;
    const m = await this.messages.find(appId, chat, number);
    if (!m || m.deletedAt) throw notFound(`no message number ${number} in this chat`);
    if (m.lease && m.lease.token !== leaseToken) throw locked(m.lease.expiresAt);
  }

  /** Why a lease write was not applied: 404, 423 (with the holder's expiry) or, on renew, 409 lease_expired. */
  private async refuse(appId: string, chat: number, number: number, miss: CasMiss, renewing = false): Promise<never> {
    if (miss.version === null || miss.deleted) throw notFound(`no message number ${number} in this chat`);
    if (miss.lease === null && renewing) {
      throw leaseExpired();
    }
    const m = await this.messages.find(appId, chat, number);
    throw locked(m?.lease?.expiresAt ?? null);
  }
}

function keepMiss(r: CasResult, keep: (miss: CasMiss) => void): boolean {
  if (!r.applied) keep(r);
  return r.applied;
}
