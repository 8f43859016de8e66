import { Transform, type TransformCallback } from 'node:stream';

/**
 * S3's `aws-chunked` content encoding with an unsigned payload and a trailing SHA-256
 * (`x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`, `x-amz-trailer: x-amz-checksum-sha256`):
 * `<hex size>\r\n<bytes>\r\n` per chunk, then `0\r\n`, the trailer line and `\r\n`. The digest of a streamed body
 * is known only at its end; sent as the trailer, the store checks it against what it received and refuses the
 * object otherwise (versitygw answers 400 BadDigest and keeps nothing: measured), so a truncated or altered
 * upload never becomes an object. Chunks are re-cut to CHUNK bytes so that the encoded length, which S3 needs
 * up front as Content-Length, follows from the body's size alone.
 */
export const CHUNK = 64 * 1024;

const TRAILER_NAME = 'x-amz-checksum-sha256';

/** The encoded length of a `size`-byte body: what Content-Length must say. */
export function encodedLength(size: number): number {
  const frame = (n: number) => n.toString(16).length + 2 + n + 2;
  const full = Math.floor(size / CHUNK);
  const rest = size % CHUNK;
  // '0\r\n' + '<name>:<44 base64 characters>\r\n' + '\r\n'
  return full * frame(CHUNK) + (rest > 0 ? frame(rest) : 0) + 3 + TRAILER_NAME.length + 1 + 44 + 2 + 2;
}

/** The headers that announce the encoding (signed with the request). */
export const chunkedHeaders = (size: number): Record<string, string> => ({
  'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
  'content-encoding': 'aws-chunked',
  'x-amz-decoded-content-length': String(size),
  'x-amz-trailer': TRAILER_NAME,
  'content-length': String(encodedLength(size)),
});

/**
 * Encodes a body as it streams; `digest` is asked for once the body has ended. Holds at most one CHUNK of the
 * body (bytes waiting to fill a chunk), whatever its size.
 */
export class AwsChunkedEncoder extends Transform {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly digest: () => Buffer) { super(); }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= CHUNK) this.emit_(CHUNK);
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.pendingBytes > 0) this.emit_(this.pendingBytes);
    try {
      this.push(`0\r\n${TRAILER_NAME}:${this.digest().toString('base64')}\r\n\r\n`);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  /** Pushes one frame of the first `n` pending bytes. */
  private emit_(n: number): void {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.push(`${n.toString(16)}\r\n`);
    this.push(all.subarray(0, n));
    this.push('\r\n');
    const rest = all.subarray(n);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
  }
}
