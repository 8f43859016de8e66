import { AwsClient } from 'aws4fetch';
import type { Readable } from 'node:stream';
import { BodyStoreUnavailable, ObjectExists, type BodyStore, type ListedObject, type ObjectStream } from './body-store.js';
import type { CredentialSource, Credentials } from './credentials/types.js';
import { S3Streams } from './s3-streams.js';

/** What the S3 backend needs of the configuration. */
export interface S3Settings {
  endpoint: string;
  region: string;
  bucket: string;
  /** true: `<endpoint>/<bucket>/<key>` (local servers, most gateways); false: `<bucket>.<host>/<key>` (AWS). */
  pathStyle: boolean;
  /** The credential chain's answer (credentials/chain.ts), refreshed before temporary credentials expire. */
  credentials: CredentialSource;
  /** Each request's bound: a slow store fails the request (503) instead of holding it (and its memory). */
  timeoutMs: number;
  /** Requests in flight per process at most (S3_MAX_IN_FLIGHT); more wait, within timeoutMs. */
  maxInFlight: number;
  /** Prepended to every key (one bucket shared by several deployments or test runs). */
  prefix: string;
}

const xmlText = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')
  .replace(/&apos;/g, "'").replace(/&amp;/g, '&');

/**
 * Bodies in any S3 API (AWS S3, GCS's XML API, gateways, versitygw locally), signed with SigV4 by aws4fetch.
 * Writes carry `If-None-Match: *` (create-only; 412 = taken) and the body's SHA-256 twice: as the signed payload
 * hash and as `x-amz-checksum-sha256`, so a store never keeps a truncated or altered body (versitygw stores a
 * truncated object for an unsigned body without a checksum header: ../shared/notes/object-storage.md). No
 * retries here: a slow or failing store answers 503 within `timeoutMs`; the client retries.
 */
export class S3BodyStore implements BodyStore {
  readonly kind = 's3' as const;
  private client: { for: Credentials; client: AwsClient } | null = null;
  private readonly base: string;
  private readonly streams: S3Streams;

  constructor(private readonly s: S3Settings) {
    const url = new URL(s.endpoint);
    this.base = s.pathStyle ? `${url.origin}${url.pathname.replace(/\/$/, '')}/${s.bucket}`
      : `${url.protocol}//${s.bucket}.${url.host}${url.pathname.replace(/\/$/, '')}`;
    this.streams = new S3Streams(s, (key) => this.url(key), (signal) => this.slot(signal), () => this.release());
  }

  get credentials(): string { return this.s.credentials.name; }

  /** A signer for the current credentials (a new one when the chain refreshed them). */
  private async signer(): Promise<AwsClient> {
    const c = await this.s.credentials.get();
    if (this.client?.for !== c) {
      this.client = { for: c, client: new AwsClient({ accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey,
        sessionToken: c.sessionToken, service: 's3', region: this.s.region, retries: 0 }) };
    }
    return this.client.client;
  }

  private url(key: string): string {
    return `${this.base}/${(this.s.prefix + key).split('/').map(encodeURIComponent).join('/')}`;
  }

  /**
   * One request, answer read by `use`, within timeoutMs from the call (waiting for a slot included). At most
   * maxInFlight per process: a burst of creates queues here rather than opening hundreds of connections (and
   * conditional-write locks, 256 per bucket in versitygw) at once.
   */
  private async send<T>(what: string, url: string, init: RequestInit, use: (res: Response) => Promise<T>): Promise<T> {
    const signal = AbortSignal.timeout(this.s.timeoutMs);
    try {
      await this.slot(signal);
    } catch {
      throw new BodyStoreUnavailable(`s3 ${what}: no free connection slot within ${this.s.timeoutMs} ms`);
    }
    try {
      const res = await (await this.signer()).fetch(url, { ...init, signal });
      return await use(res);
    } catch (err) {
      if (err instanceof BodyStoreUnavailable || err instanceof ObjectExists) throw err;
      throw new BodyStoreUnavailable(`s3 ${what}: ${(err as Error).message}`);
    } finally {
      this.release();
    }
  }

  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];

  /** A free request slot (S3_MAX_IN_FLIGHT), waited for until `signal` aborts. */
  private slot(signal: AbortSignal): Promise<void> {
    if (this.inFlight < this.s.maxInFlight) {
      this.inFlight += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const granted = () => { signal.removeEventListener('abort', aborted); resolve(); };
      const aborted = () => {
        const i = this.waiting.indexOf(granted);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal.reason as Error);
      };
      this.waiting.push(granted);
      signal.addEventListener('abort', aborted, { once: true });
    });
  }

  /** Hands the slot to the next waiter, or frees it. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight -= 1;
  }

  private async fail(what: string, res: Response): Promise<never> {
    const text = await res.text().catch(() => '');
    throw new BodyStoreUnavailable(`s3 ${what}: HTTP ${res.status} ${text.slice(0, 200)}`);
  }

  async putNew(key: string, bytes: Buffer, sha256: string): Promise<void> {
    await this.send(`put ${key}`, this.url(key), {
      method: 'PUT', body: bytes,
      headers: {
        'if-none-match': '*', 'content-type': 'application/octet-stream', 'x-amz-content-sha256': sha256,
        'x-amz-checksum-sha256': Buffer.from(sha256, 'hex').toString('base64'),
      },
    }, async (res) => {
      if (res.status === 412 || res.status === 409) {
        await res.body?.cancel();
        throw new ObjectExists(key);
      }
      if (!res.ok) await this.fail(`put ${key}`, res);
      await res.body?.cancel();
    });
  }

  async get(key: string): Promise<Buffer | null> {
    return this.send(`get ${key}`, this.url(key), { method: 'GET' }, async (res) => {
      if (res.status === 404) {
        await res.body?.cancel();
        return null;
      }
      if (!res.ok) await this.fail(`get ${key}`, res);
      return Buffer.from(await res.arrayBuffer());
    });
  }

  putStream(key: string, body: Readable, size: number, digest: () => Buffer): Promise<void> {
    return this.streams.put(key, body, size, digest);
  }

  getStream(key: string): Promise<ObjectStream | null> {
    return this.streams.get(key);
  }

  async delete(key: string): Promise<void> {
    await this.send(`delete ${key}`, this.url(key), { method: 'DELETE' }, async (res) => {
      if (!res.ok && res.status !== 404) await this.fail(`delete ${key}`, res);
      await res.body?.cancel();
    });
  }

  async* list(prefix: string): AsyncGenerator<ListedObject> {
    let token: string | null = null;
    do {
      const q = new URLSearchParams({ 'list-type': '2', prefix: this.s.prefix + prefix, 'max-keys': '1000' });
      if (token) q.set('continuation-token', token);
      const xml = await this.send('list', `${this.base}?${q.toString()}`, { method: 'GET' }, async (res) => {
        if (!res.ok) await this.fail('list', res);
        return res.text();
      });
      for (const [, item] of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        const key = xmlText(/<Key>([\s\S]*?)<\/Key>/.exec(item!)?.[1] ?? '');
        const modified = /<LastModified>([^<]*)<\/LastModified>/.exec(item!)?.[1];
        if (key.startsWith(this.s.prefix)) {
          yield { key: key.slice(this.s.prefix.length), lastModified: new Date(modified ?? 0) };
        }
      }
      token = /<IsTruncated>true<\/IsTruncated>/.test(xml)
        ? xmlText(/<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1] ?? '') || null : null;
    } while (token);
  }
}
