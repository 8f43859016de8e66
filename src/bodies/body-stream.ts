import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** A streamed body broke a rule while it was read: more or fewer bytes than announced, or not UTF-8 text. */
export class BadBodyStream extends Error {
  constructor(readonly code: 'length_mismatch' | 'invalid_body', message: string) { super(message); }
}

/**
 * Passes an uploaded body through unchanged while it computes its SHA-256, counts its bytes, keeps its first
 * `keep` bytes (the row's inline prefix: search indexes them) and checks that it is UTF-8 text (a message body
 * is text; the JSON views must be able to hand it out). Memory is bounded by `keep` plus one chunk, whatever the
 * body's size: nothing else is retained. It fails (BadBodyStream) when the bytes are not exactly `expected`,
 * so a client that announced 8 MiB and hung up after 3 never yields an object the row could point to.
 */
export class DigestingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private seen = 0;
  private sum: Buffer | null = null;

  constructor(private readonly expected: number, private readonly keep: number) { super(); }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.expected) {
      done(new BadBodyStream('length_mismatch', `the body is longer than its Content-Length (${this.expected})`));
      return;
    }
    try {
      // stream: true keeps a character split across chunks for the next call; the decoded text is dropped.
      this.decoder.decode(chunk, { stream: true });
    } catch {
      done(new BadBodyStream('invalid_body', 'the body must be UTF-8 text'));
      return;
    }
    this.hash.update(chunk);
    if (this.headBytes < this.keep) {
      const part = chunk.subarray(0, this.keep - this.headBytes);
      this.head.push(Buffer.from(part)); // a copy: the rest of the chunk must not stay reachable through it
      this.headBytes += part.length;
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.seen !== this.expected) {
      done(new BadBodyStream('length_mismatch', `the body ended after ${this.seen} of ${this.expected} bytes`));
      return;
    }
    try {
      this.decoder.decode();
    } catch {
      done(new BadBodyStream('invalid_body', 'the body must be UTF-8 text'));
      return;
    }
    this.sum = this.hash.digest();
    done();
  }

  /** The SHA-256 of everything that passed; only once the stream has ended. */
  digest(): Buffer {
    if (this.sum === null) throw new Error('the body has not ended yet');
    return this.sum;
  }

  /** The bytes seen so far (all of them once it ended). */
  get size(): number { return this.seen; }

  /** The first `keep` bytes. */
  prefix(): Buffer { return Buffer.concat(this.head); }
}

/**
 * Checks a downloaded body against the digest and size its row recorded, while it passes through. A mismatch
 * is known only at the end, so the last chunk is held back until the check passed: on a mismatch the stream
 * fails instead (the caller aborts the connection) and the client, whose Content-Length is the recorded size,
 * always sees a truncated response, never a complete wrong body. One chunk more in memory, whatever the size.
 */
export class VerifyingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private seen = 0;
  private held: Buffer | null = null;

  constructor(private readonly size: number, private readonly sha256Hex: string,
    private readonly mismatch: (why: string) => Error) { super(); }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.size) {
      done(this.mismatch(`the object is longer than the recorded ${this.size} bytes`));
      return;
    }
    this.hash.update(chunk);
    const previous = this.held;
    this.held = chunk;
    done(null, previous ?? undefined);
  }

  override _flush(done: TransformCallback): void {
    if (this.seen !== this.size) done(this.mismatch(`the object has ${this.seen} of the recorded ${this.size} bytes`));
    else if (this.hash.digest('hex') !== this.sha256Hex) done(this.mismatch('the object does not match its digest'));
    else done(null, this.held ?? undefined);
  }
}
