import { Readable } from 'node:stream';
import { finished } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, badRequest } from '../errors.js';
import type { Logger } from '../logger.js';
import { BodyStoreUnavailable, type BodyStore } from '../bodies/body-store.js';
import { BadBodyStream, DigestingStream, VerifyingStream } from '../bodies/body-stream.js';
import { checkCreateOnly, CreateOnlyNotEnforced } from '../bodies/create-only-check.js';
import { sha256Hex, streamKey, versionKey } from '../bodies/keys.js';
import { bodyDigestMismatches } from '../observability/body-metrics.js';
import type { HistoryRetention, VersionEntry } from './message-history.js';
import { publicPart, type BodyRef, type ChatMessage, type StoredMessage } from './types.js';
import { offStorageClock } from '../storage/request-deadline.js';

export interface BodySettings {
  /** Bytes of a body kept in the row with an object store (CHAT_BODY_INLINE_BYTES). */
  inlineBytes: number;
  retention: HistoryRetention;
  /** BODY_ORPHAN_GRACE_SECONDS in ms: an object older than this that no row points to is swept. */
  orphanGraceMs: number;
  /** A raw upload's limit (CHAT_MAX_STREAMED_BODY_BYTES; CHAT_MAX_BODY_BYTES with cassandra): 413 beyond it. */
  maxStreamedBytes: number;
}

/** One version's body as stored: what the row keeps in its cell and what it records of the object. */
export interface SavedBody { inline: string; ref: BodyRef; savedAt: number }

/** Object reads in flight for one list page: 500 bodies would otherwise be 500 requests at once. */
const LIST_READS = 8;

/** The first `max` bytes of `s` as UTF-8, cut before a partial character. */
export function utf8Prefix(s: string, max: number): string {
  const bytes = Buffer.from(s, 'utf8');
  return bytes.length <= max ? s : utf8Head(bytes, max);
}

/** The first `max` of `bytes` (UTF-8; at least max + 1 of them), cut before a partial character. */
function utf8Head(bytes: Buffer, max: number): string {
  let cut = max;
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return bytes.subarray(0, cut).toString('utf8');
}

/** A body on its way out: its bytes as they come (checked), with what the row recorded of them. */
export interface BodySource { stream: Readable; size: number; digest: string }

/**
 * Message bodies, wherever the configuration keeps them. With an object store (`store` set) every version's body
 * is one immutable object, written create-only before the row's conditional write points to it (so a row never
 * points to a missing object), and every read checks the bytes against the digest the row recorded. Without one
 * (CHAT_BODY_STORE=cassandra) the body is the row's cell, as before; its digest is checked all the same.
 */
export class MessageBodies {
  private verified = false;
  private verifying: Promise<void> | null = null;
  private lastCheck = 0;
  private lastFailureLog = 0;

  constructor(private readonly store: BodyStore | null, readonly settings: BodySettings, private readonly log: Logger) {}

  get kind(): 's3' | 'fs' | 'cassandra' { return this.store?.kind ?? 'cassandra'; }

  /**
   * The start-up check (checkCreateOnly): throws CreateOnlyNotEnforced (the service must not start), logs and
   * returns when the store cannot be reached (writes of bodies answer 503 until a later check passes).
   */
  async verify(): Promise<void> {
    if (this.store === null) return;
    try {
      await this.gate();
      this.log.info({ store: this.store.kind, credentials: this.store.credentials }, 'body store enforces create-only writes');
    } catch (err) {
      if (err instanceof CreateOnlyNotEnforced) throw err;
      this.log.warn({ err: (err as Error).message }, 'body store unreachable at start: body writes answer 503 until it is');
    }
  }

  /** Passes once the store was proven create-only; re-checks an unreachable store at most once a second. */
  private async gate(): Promise<void> {
    if (this.verified || this.store === null) return;
    if (this.verifying === null) {
      if (Date.now() - this.lastCheck < 1000) throw new BodyStoreUnavailable('create-only check pending');
      this.lastCheck = Date.now();
      this.verifying = checkCreateOnly(this.store).then(() => { this.verified = true; })
        .finally(() => { this.verifying = null; });
    }
    await this.verifying;
  }

  /**
   * Stores version `version`'s body of message `number`: with an object store, a new object (create-only);
   * returns what the row records. Throws BodyStoreUnavailable (503) when the store is down or slow: nothing was
   * written to the row yet, so nothing acknowledged is lost.
   */
  async save(appId: string, chat: number, number: number, version: number, body: string): Promise<SavedBody> {
    const bytes = Buffer.from(body, 'utf8');
    const digest = sha256Hex(bytes);
    const store = this.store;
    if (store === null) return { inline: body, ref: { key: null, digest, size: bytes.length }, savedAt: Date.now() };
    await this.gate();
    const key = versionKey(appId, chat, number, version, digest);
    await offStorageClock(() => store.putNew(key, bytes, digest)).catch((err: unknown) => this.failed(err));
    return { inline: utf8Prefix(body, this.settings.inlineBytes), ref: { key, digest, size: bytes.length }, savedAt: Date.now() };
  }

  /**
   * Stores a body that streams in (`size` bytes announced): with an object store, piped to a new object while
   * its SHA-256 is computed, under a key without the digest (keys.ts streamKey: it is known only at the end);
   * the row records it, and S3 checks it as the upload's trailing checksum. Memory: one chunk plus the inline
   * prefix, whatever the size. Without a store (cassandra) the body is a cell, at most CHAT_MAX_BODY_BYTES
   * (≤ 1 MiB), so it is read whole and saved as before. 400 when the bytes are not `size` or not UTF-8 text;
   * 503 when the store is down: either way no row points to anything new.
   */
  async saveStream(appId: string, chat: number, number: number, version: number, body: Readable,
    size: number): Promise<SavedBody> {
    const digesting = new DigestingStream(size, this.settings.inlineBytes + 4);
    digesting.on('error', () => undefined); // surfaced by its reader (the store's write), not as an uncaught event
    // pipe, not pipeline: a failure must not destroy the request (its socket), or the error answer is lost. A
    // client that hangs up fails the digesting stream.
    const stop = finished(body, (err) => { if (err) digesting.destroy(err); });
    body.pipe(digesting);
    try {
      if (this.store === null) {
        const chunks: Buffer[] = [];
        for await (const chunk of digesting) chunks.push(chunk as Buffer);
        return await this.save(appId, chat, number, version, Buffer.concat(chunks).toString('utf8'));
      }
      await this.gate();
      const key = streamKey(appId, chat, number, version);
      await this.store.putStream(key, digesting, size, () => digesting.digest());
      const head = digesting.prefix();
      const inline = size <= this.settings.inlineBytes ? head.toString('utf8') : utf8Head(head, this.settings.inlineBytes);
      return { inline, ref: { key, digest: digesting.digest().toString('hex'), size }, savedAt: Date.now() };
    } catch (err) {
      // The unread rest of the body is read and dropped: left in the socket, it would stall the connection's next
      // request (keep-alive) until the server's request timeout (measured: a 408 after 10 s).
      body.unpipe(digesting);
      body.resume();
      digesting.destroy();
      if (err instanceof BadBodyStream) throw badRequest(err.code, err.message);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
        throw badRequest('length_mismatch', 'the body ended before its Content-Length');
      }
      return this.failed(err);
    } finally {
      stop();
    }
  }

  /**
   * A body for a raw download: from the cell when the row holds it whole, else its object as a stream, checked
   * as it passes (VerifyingStream). What can be checked before the first byte is (a missing object, a size that
   * differs from the row's: 500); a digest mismatch shows only at the end, after the bytes went out: the stream
   * then fails (the caller aborts the connection), it is logged and counted
   * (ephemera_chat_body_digest_mismatches_total).
   */
  async source(ref: BodyRef | null, cell: string): Promise<BodySource> {
    const whole = Buffer.from(cell, 'utf8');
    if (ref === null) return { stream: Readable.from([whole]), size: whole.length, digest: sha256Hex(whole) };
    if (ref.key === null || whole.length === ref.size) {
      if (sha256Hex(whole) === ref.digest) return { stream: Readable.from([whole]), size: ref.size, digest: ref.digest };
      if (ref.key === null) throw this.corrupt(ref, 'the row\'s body does not match its digest');
    }
    const { store } = this;
    const key = ref.key;
    if (store === null) throw new AppError(404, 'not_found', 'this version\'s body is not kept');
    const object = await offStorageClock(() => store.getStream(key)).catch((err: unknown) => this.failed(err));
    if (object === null) throw this.corrupt(ref, 'the object is missing');
    if (object.size !== ref.size) {
      object.stream.destroy();
      throw this.corrupt(ref, `the object has ${object.size} bytes, the row recorded ${ref.size}`);
    }
    const checked = new VerifyingStream(ref.size, ref.digest, (why) => {
      bodyDigestMismatches.inc();
      this.log.error({ key: ref.key, digest: ref.digest, size: ref.size }, `message body unreadable mid-download: ${why}`);
      return new Error(`message body ${ref.key}: ${why}`);
    });
    pipeline(object.stream, checked).catch(() => undefined);
    return { stream: checked, size: ref.size, digest: ref.digest };
  }

  /**
   * Called right before the conditional write that points a row to `saved`: the sweeper may remove an object no
   * row points to once it is older than the grace period, so a write that stalled for half of it gives up (503;
   * its object is an orphan) instead of pointing a row to an object that may be gone.
   */
  fresh(saved: SavedBody): void {
    if (Date.now() - saved.savedAt > this.settings.orphanGraceMs / 2) {
      throw new BodyStoreUnavailable('the body was stored too long ago; retry');
    }
  }

  /** The history entry of a version written now. */
  entry(version: number, saved: SavedBody, at: Date, lease: string | null): VersionEntry {
    return { version, key: saved.ref.key, digest: saved.ref.digest, size: saved.ref.size, editedAt: at, lease };
  }

  /** The message as a client sees it, with its whole body (read from its object when the row keeps a prefix). */
  async full(m: StoredMessage): Promise<ChatMessage> {
    return { ...publicPart(m), body: await this.body(m.ref, m.body) };
  }

  /** Every message of a page with its whole body; LIST_READS object reads at a time. */
  async fullAll(ms: StoredMessage[]): Promise<ChatMessage[]> {
    const out: ChatMessage[] = new Array<ChatMessage>(ms.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < ms.length; i = next++) out[i] = await this.full(ms[i]!);
    };
    await Promise.all(Array.from({ length: Math.min(LIST_READS, ms.length) }, worker));
    return out;
  }

  /**
   * A body from what the row records: the cell when it is whole (no object, or a body within the inline bytes
   * whose digest matches), else the object. Either way the bytes must match the digest (500 otherwise: a store
   * that altered or lost a body is a fault to fix, never an answer to hand out).
   */
  async body(ref: BodyRef | null, cell: string): Promise<string> {
    if (ref === null) return cell; // written before file storage: nothing to check against
    if (ref.key === null || Buffer.byteLength(cell) === ref.size) {
      if (sha256Hex(Buffer.from(cell, 'utf8')) === ref.digest) return cell;
      if (ref.key === null) throw this.corrupt(ref, 'the row\'s body does not match its digest');
    }
    return this.object(ref);
  }

  /** One version's body from its object, checked; 404 when that version's body is not kept. */
  async object(ref: BodyRef): Promise<string> {
    const { store } = this;
    const key = ref.key;
    if (key === null || store === null) throw new AppError(404, 'not_found', 'this version\'s body is not kept');
    const bytes = await offStorageClock(() => store.get(key)).catch((err: unknown) => this.failed(err));
    if (bytes === null) throw this.corrupt(ref, 'the object is missing');
    if (bytes.length !== ref.size || sha256Hex(bytes) !== ref.digest) throw this.corrupt(ref, 'the object does not match its digest');
    return bytes.toString('utf8');
  }

  /** Logs why the store failed (at most once a second: an outage fails every body request), then rethrows. */
  private failed(err: unknown): never {
    if (err instanceof BodyStoreUnavailable && Date.now() - this.lastFailureLog >= 1000) {
      this.lastFailureLog = Date.now();
      this.log.warn({ err: err.detail }, 'body store unavailable');
    }
    throw err;
  }

  private corrupt(ref: BodyRef, why: string): AppError {
    this.log.error({ key: ref.key, digest: ref.digest, size: ref.size }, `message body unreadable: ${why}`);
    return new AppError(500, 'internal', 'the stored message body failed its integrity check');
  }
}
