import { AwsV4Signer } from 'aws4fetch';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AwsChunkedEncoder, chunkedHeaders } from './aws-chunked.js';
import { BodyStoreUnavailable, ObjectExists, type ObjectStream } from './body-store.js';
import type { CredentialSource } from './credentials/types.js';

/** What streaming needs of the S3 settings (s3-store.ts S3Settings). */
export interface StreamSettings { region: string; timeoutMs: number; credentials: CredentialSource }

/**
 * Once bytes flow, a stream is given up after this long without any (a client that stopped reading or sending,
 * or a store that stopped mid-object): long enough for a slow mobile client's stalls, short enough that a slot
 * (S3_MAX_IN_FLIGHT) is not held for ever. The start of each request keeps the S3_REQUEST_TIMEOUT_MS bound.
 */
export const STREAM_IDLE_MS = 30_000;

/**
 * Streamed PUTs and GETs of S3 objects over node:http (fetch cannot send a body of known length from a stream
 * with backpressure, nor hand out a response without buffering it in our code's control). A PUT sends
 * `Expect: 100-continue` and waits (S3_REQUEST_TIMEOUT_MS) for the store's go-ahead before it reads any byte of
 * the client's body: a store that is down or hangs answers 503 having consumed nothing, and a taken key is
 * known before the upload. The body goes aws-chunked with its SHA-256 as a trailer (aws-chunked.ts).
 */
export class S3Streams {
  constructor(private readonly s: StreamSettings, private readonly url: (key: string) => string,
    private readonly slot: (signal: AbortSignal) => Promise<void>, private readonly release: () => void) {}

  private async signed(method: string, url: string, headers: Record<string, string>): Promise<Record<string, string>> {
    const c = await this.s.credentials.get();
    const signer = new AwsV4Signer({ method, url, headers, accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken, service: 's3', region: this.s.region });
    return Object.fromEntries((await signer.sign()).headers.entries());
  }

  /** A slot and signed headers within S3_REQUEST_TIMEOUT_MS, or 503. The caller releases the slot. */
  private async start(what: string, method: string, url: string, headers: Record<string, string>) {
    try {
      await this.slot(AbortSignal.timeout(this.s.timeoutMs));
    } catch {
      throw new BodyStoreUnavailable(`s3 ${what}: no free connection slot within ${this.s.timeoutMs} ms`);
    }
    try {
      const signedHeaders = await this.signed(method, url, headers);
      return (url.startsWith('https:') ? https : http).request(url, { method, headers: signedHeaders });
    } catch (err) {
      this.release();
      throw new BodyStoreUnavailable(`s3 ${what}: ${(err as Error).message}`);
    }
  }

  async put(key: string, body: Readable, size: number, digest: () => Buffer): Promise<void> {
    const what = `put ${key}`;
    const url = this.url(key);
    const req = await this.start(what, 'PUT', url, { 'if-none-match': '*', 'content-type': 'application/octet-stream',
      expect: '100-continue', ...chunkedHeaders(size) });
    let bodyError: Error | null = null;
    body.once('error', (err) => { bodyError ??= err; });
    try {
      const answer = new Promise<IncomingMessage>((resolve, reject) => {
        req.once('response', resolve);
        req.once('error', reject);
      });
      answer.catch(() => undefined);
      const goAhead = await within(this.s.timeoutMs, Promise.race([
        new Promise<null>((resolve) => req.once('continue', () => resolve(null))), answer]));
      if (goAhead === undefined) throw new Error(`no answer within ${this.s.timeoutMs} ms`);
      if (goAhead !== null) return await this.finish(what, key, goAhead); // refused before the body (412: taken)
      req.setTimeout(STREAM_IDLE_MS, () => req.destroy(new Error(`no progress for ${STREAM_IDLE_MS} ms`)));
      await pipeline(body, new AwsChunkedEncoder(digest), req);
      const res = await within(this.s.timeoutMs, answer);
      if (res === undefined) throw new Error(`no answer within ${this.s.timeoutMs} ms of the last byte`);
      await this.finish(what, key, res);
    } catch (err) {
      req.destroy();
      const failed = bodyError ?? (body.errored as Error | null); // the client's body failed: not the store's fault
      if (failed !== null) throw failed;
      if (err instanceof BodyStoreUnavailable || err instanceof ObjectExists) throw err;
      throw new BodyStoreUnavailable(`s3 ${what}: ${(err as Error).message}`);
    } finally {
      this.release();
    }
  }

  private async finish(what: string, key: string, res: IncomingMessage): Promise<void> {
    const text = await drain(res);
    if (res.statusCode === 412 || res.statusCode === 409) throw new ObjectExists(key);
    if (res.statusCode !== 200) throw new BodyStoreUnavailable(`s3 ${what}: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
  }

  async get(key: string): Promise<ObjectStream | null> {
    const what = `get ${key}`;
    const req = await this.start(what, 'GET', this.url(key), {});
    let released = false;
    const free = () => { if (!released) { released = true; this.release(); } };
    try {
      const answer = new Promise<IncomingMessage>((resolve, reject) => {
        req.once('response', resolve);
        req.once('error', reject);
      });
      answer.catch(() => undefined);
      req.end();
      const res = await within(this.s.timeoutMs, answer);
      if (res === undefined) throw new Error(`no answer within ${this.s.timeoutMs} ms`);
      if (res.statusCode === 404) {
        await drain(res);
        free();
        return null;
      }
      if (res.statusCode !== 200) throw new BodyStoreUnavailable(`s3 ${what}: HTTP ${res.statusCode} ${(await drain(res)).slice(0, 200)}`);
      req.setTimeout(STREAM_IDLE_MS, () => req.destroy(new Error(`no progress for ${STREAM_IDLE_MS} ms`)));
      res.once('close', free);
      return { stream: res, size: Number(res.headers['content-length']) };
    } catch (err) {
      req.destroy();
      free();
      if (err instanceof BodyStoreUnavailable) throw err;
      throw new BodyStoreUnavailable(`s3 ${what}: ${(err as Error).message}`);
    }
  }
}

/** The promise's value, or undefined when it takes longer than `ms`. */
async function within<T>(ms: number, p: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

/** A small answer's text (an S3 error document); at most 64 KiB is kept. */
async function drain(res: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res) if (text.length < 65_536) text += (chunk as Buffer).toString('utf8');
  return text;
}
