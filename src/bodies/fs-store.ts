import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { BodyStoreUnavailable, ObjectExists, type BodyStore, type ListedObject, type ObjectStream } from './body-store.js';

/**
 * Bodies as files under one directory (development and single-node deployments). A write goes to a temporary
 * file, is flushed (fsync), then hard-linked to its key: link(2) fails with EEXIST when the key exists, so the
 * write is create-only, and an object is never seen half-written (a crash leaves only a temporary file, which
 * the next start removes).
 */
export class FsBodyStore implements BodyStore {
  readonly kind = 'fs' as const;
  private readonly root: string;
  private readonly tmp: string;

  constructor(root: string, private readonly prefix: string) {
    this.root = path.resolve(root);
    this.tmp = path.join(this.root, '.tmp');
  }

  private file(key: string): string {
    const full = path.join(this.root, this.prefix + key);
    // Keys are built by keys.ts; this only guards against a key that would leave the root.
    if (!full.startsWith(this.root + path.sep)) throw new Error(`object key outside the store: ${key}`);
    return full;
  }

  private opened: Promise<void> | null = null;

  /**
   * Creates the temporary directory and removes what a crash left in it: files older than an hour (other
   * processes sharing the directory may be writing the younger ones). None of them is an object.
   */
  private async open(): Promise<void> {
    await fsp.mkdir(this.tmp, { recursive: true });
    const cutoff = Date.now() - 3_600_000;
    for (const name of await fsp.readdir(this.tmp)) {
      const file = path.join(this.tmp, name);
      const stat = await fsp.stat(file).catch(() => null);
      if (stat !== null && stat.mtimeMs < cutoff) await fsp.unlink(file).catch(() => undefined);
    }
  }

  async putNew(key: string, bytes: Buffer): Promise<void> {
    await this.write(key, (handle) => handle.writeFile(bytes));
  }

  /** The stream's chunks are written as they come (one in memory at a time); the digest is the row's to keep. */
  async putStream(key: string, body: Readable): Promise<void> {
    let bodyError: Error | null = null;
    await this.write(key, async (handle) => {
      try {
        for await (const chunk of body) await handle.write(chunk as Buffer);
      } catch (err) {
        bodyError = err as Error;
        throw err;
      }
    }).catch((err: unknown) => { throw bodyError ?? err; });
  }

  async getStream(key: string): Promise<ObjectStream | null> {
    try {
      const handle = await fsp.open(this.file(key), 'r');
      const { size } = await handle.stat().catch(async (err: unknown) => { await handle.close(); throw err; });
      return { stream: handle.createReadStream(), size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new BodyStoreUnavailable(`fs get ${key}: ${(err as Error).message}`);
    }
  }

  /** A temporary file filled by `fill`, flushed, then linked to the key (create-only). */
  private async write(key: string, fill: (handle: fsp.FileHandle) => Promise<void>): Promise<void> {
    const target = this.file(key);
    const tmp = path.join(this.tmp, randomBytes(12).toString('hex'));
    try {
      await (this.opened ??= this.open().catch((err: unknown) => { this.opened = null; throw err; }));
      await fsp.mkdir(path.dirname(target), { recursive: true });
      const handle = await fsp.open(tmp, 'wx');
      try {
        await fill(handle);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fsp.link(tmp, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ObjectExists(key);
      throw new BodyStoreUnavailable(`fs put ${key}: ${(err as Error).message}`);
    } finally {
      await fsp.unlink(tmp).catch(() => undefined);
    }
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await fsp.readFile(this.file(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new BodyStoreUnavailable(`fs get ${key}: ${(err as Error).message}`);
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.file(key);
    try {
      await fsp.unlink(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new BodyStoreUnavailable(`fs delete ${key}: ${(err as Error).message}`);
      }
    }
    // The message's directory goes with its last object (rmdir refuses a non-empty one).
    await fsp.rmdir(path.dirname(file)).catch(() => undefined);
  }

  async* list(prefix: string): AsyncGenerator<ListedObject> {
    const base = path.join(this.root, this.prefix);
    yield* this.walk(base, '', prefix);
  }

  private async* walk(dir: string, rel: string, prefix: string): AsyncGenerator<ListedObject> {
    let names: string[];
    try {
      names = (await fsp.readdir(dir)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new BodyStoreUnavailable(`fs list ${dir}: ${(err as Error).message}`);
    }
    for (const name of names) {
      if (rel === '' && name === '.tmp') continue;
      const key = rel + name;
      // Descend only where keys below can still start with the prefix.
      if (!(key.startsWith(prefix) || prefix.startsWith(key))) continue;
      const stat = await fsp.lstat(path.join(dir, name)).catch(() => null);
      if (stat === null) continue;
      if (stat.isDirectory()) yield* this.walk(path.join(dir, name), `${key}/`, prefix);
      else if (stat.isFile() && key.startsWith(prefix)) yield { key, lastModified: stat.mtime };
    }
  }
}
