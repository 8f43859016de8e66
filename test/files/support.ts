import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { TEST_ENV } from '../support/harness.js';

/** The versitygw binary `make s3-up` builds (scripts/dev/tools.sh versitygw). */
export const VERSITYGW = path.join(process.env.EPHEMERA_CACHE ?? path.join(os.homedir(), '.cache', 'ephemera'), 'bin', 'versitygw');

/** A key prefix of its own per suite run: a sweep lists only this suite's objects. */
export const ownPrefix = (name: string): string =>
  `${TEST_ENV.BODY_STORE_PREFIX}${name}-${randomBytes(4).toString('hex')}/`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    }).on('error', reject);
  });
}

/**
 * A private versitygw (its own port and directory), so a test can stop (SIGSTOP: slow), kill or restart it
 * without touching the shared one of `make s3-up`.
 */
export class PrivateS3 {
  private proc: ChildProcess | null = null;
  private constructor(readonly port: number, readonly dir: string) {}

  static async start(): Promise<PrivateS3> {
    if (!existsSync(VERSITYGW)) throw new Error(`${VERSITYGW} is missing: run make s3-up (builds it)`);
    const s3 = new PrivateS3(await freePort(), mkdtempSync(path.join(os.tmpdir(), 'ephemera-s3-')));
    mkdirSync(path.join(s3.dir, 'ephemera'));
    await s3.run();
    return s3;
  }

  /** The service's settings for this server. */
  get env(): Record<string, string> {
    return { CHAT_BODY_STORE: 's3', S3_ENDPOINT: `http://127.0.0.1:${this.port}`, S3_BUCKET: 'ephemera',
      S3_ACCESS_KEY_ID: 'private-key', S3_SECRET_ACCESS_KEY: 'private-secret' };
  }

  /** Starts it (again); a no-op while it runs. */
  async run(): Promise<void> {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) return;
    this.proc = spawn(VERSITYGW, ['--port', `127.0.0.1:${this.port}`, '--health', '/health', '--quiet', 'posix', this.dir], {
      env: { ...process.env, ROOT_ACCESS_KEY: 'private-key', ROOT_SECRET_KEY: 'private-secret' }, stdio: 'ignore',
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${this.port}/health`)).ok) return;
      } catch { /* not yet */ }
      if (Date.now() > deadline) throw new Error('private versitygw did not start in 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGSTOP: the port accepts connections (the kernel's backlog) but nothing answers: a store that hangs. */
  pause(): void { this.proc?.kill('SIGSTOP'); }
  resume(): void { this.proc?.kill('SIGCONT'); }

  /** SIGKILL and wait for the exit: the store is down (connections refused). */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGCONT');
    p.kill('SIGKILL');
    await exited;
    this.proc = null;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
