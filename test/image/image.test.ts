/**
 * The built container image, run the way a container runtime would: its entry point and CMD, Env, WorkingDir
 * and User taken from the image config, chrooted into the image's root filesystem mounted read-only (tmpfs
 * /dev with the usual devices, /proc), against the local Cassandra. `migrate` first, then `serve`: /healthz
 * and /readyz answer 200, SIGTERM ends it with exit code 0.
 *
 * Needs root, buildah and a built image: `scripts/image.sh build && scripts/image.sh test` (make test-image).
 * IMAGE (default localhost/ephemera:dev) and IMAGE_SCRIPT (scripts/image.sh, which owns the storage flags)
 * come from the environment.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const IMAGE = process.env.IMAGE ?? 'localhost/ephemera:dev';
const SCRIPT = process.env.IMAGE_SCRIPT ?? 'scripts/image.sh';
/** Own keyspaces: this test never touches `make run` or node:test data. */
const KEYSPACES = { CASSANDRA_HOT_KEYSPACE: 'ephemera_image_hot', CASSANDRA_COLD_KEYSPACE: 'ephemera_image_cold' };

interface ImageConfig { User?: string; Env?: string[]; Entrypoint?: string[]; Cmd?: string[]; WorkingDir?: string; StopSignal?: string }

async function buildah(...args: string[]): Promise<string> {
  const { stdout } = await run(SCRIPT, ['buildah', ...args], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    }).on('error', reject);
  });
}

/*
 * Runs in a private mount namespace (unshare -m), so every mount disappears with the process. The exec chain
 * (sh -> chroot -> env -> node) keeps one PID, so a signal sent to the child reaches node, as PID 1 would get it.
 */
const LAUNCH = `
set -eu
root=$1 user=$2 wd=$3; shift 3
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
mount -t tmpfs -o mode=0755,size=64k,nosuid,noexec tmpfs "$root/dev"
for d in null zero full random urandom tty; do : >"$root/dev/$d"; mount --bind "/dev/$d" "$root/dev/$d"; done
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
exec chroot --userspec="$user" --groups= "$root" /usr/bin/env --chdir="$wd" -i "$@"
`;

interface Running { logs: string[]; pid: number; kill(sig: NodeJS.Signals): void; exited: Promise<{ code: number | null; signal: string | null }> }

/** Runs the image's entry point with `args` as CMD (or, with `argv`, that command instead of the entry point). */
function launch(rootfs: string, config: ImageConfig, args: string[], env: Record<string, string>, argv?: string[]): Running {
  const vars = new Map<string, string>();
  for (const kv of config.Env ?? []) { const i = kv.indexOf('='); vars.set(kv.slice(0, i), kv.slice(i + 1)); }
  for (const [k, v] of Object.entries(env)) vars.set(k, v);
  const command = argv ?? [...(config.Entrypoint ?? []), ...args];
  const child = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', LAUNCH, 'launch',
    rootfs, config.User ?? '0:0', config.WorkingDir || '/', ...[...vars].map(([k, v]) => `${k}=${v}`), ...command],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => logs.push(l));
  createInterface({ input: child.stderr! }).on('line', (l) => logs.push(l));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })));
  return { logs, pid: child.pid!, kill: (sig) => child.kill(sig), exited };
}

async function waitStatus(url: string, status: number, timeoutMs: number, proc: Running): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  let dead = false;
  void proc.exited.then(() => { dead = true; });
  for (;;) {
    if (dead) throw new Error(`process exited while waiting for ${url}:\n${proc.logs.join('\n')}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      last = `${res.status} ${await res.text()}`;
      if (res.status === status) return;
    } catch (err) { last = String(err); }
    if (Date.now() > deadline) throw new Error(`${url}: wanted ${status} within ${timeoutMs} ms, last: ${last ?? 'no answer'}\n${proc.logs.join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no exit after ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(timer));
}

describe(`container image ${IMAGE}`, () => {
  let container = '';
  let rootfs = '';
  let config: ImageConfig = {};

  before(async () => {
    const info = JSON.parse(await buildah('inspect', '--type', 'image', IMAGE)) as { OCIv1: { config: ImageConfig } };
    config = info.OCIv1.config;
    container = await buildah('from', '--pull=never', '--quiet', IMAGE);
    rootfs = await buildah('mount', container);
  });

  after(async () => {
    if (!container) return;
    await buildah('umount', container).catch(() => {});
    await buildah('rm', container).catch(() => {});
  });

  it('is configured as a non-root, preloading, signal-handling entry point', () => {
    assert.equal(config.User, '10001:10001');
    assert.deepEqual(config.Entrypoint, ['node', '--import', './dist/observability/instrument.js', 'dist/cli.js']);
    assert.deepEqual(config.Cmd, ['serve']);
    assert.equal(config.WorkingDir, '/app');
    assert.equal(config.StopSignal ?? 'SIGTERM', 'SIGTERM');
    assert.ok(config.Env?.includes('NODE_ENV=production'), `Env: ${config.Env?.join(' ')}`);
  });

  it('holds compiled code and production dependencies only, owned by root', () => {
    const app = join(rootfs, 'app');
    for (const f of ['package.json', 'dist/cli.js', 'dist/observability/instrument.js', 'node_modules/cassandra-driver/package.json']) {
      assert.ok(existsSync(join(app, f)), `missing /app/${f}`);
    }
    for (const absent of ['src', 'test', '.git', 'node_modules/typescript', 'node_modules/tsx', 'node_modules/eslint', 'node_modules/fast-check']) {
      assert.ok(!existsSync(join(app, absent)), `/app/${absent} should not be in the image`);
    }
    for (const f of ['.', 'dist', 'dist/cli.js', 'node_modules']) {
      const st = statSync(join(app, f));
      assert.equal(st.uid, 0, `/app/${f} owned by uid ${st.uid}`);
      assert.equal(st.mode & 0o002, 0, `/app/${f} is world-writable`);
    }
    const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { type?: string };
    assert.equal(pkg.type, 'module');
  });

  it('gives the app user a read-only root: nothing under / (not even /tmp) is writable', async () => {
    const probe = launch(rootfs, config, [], {}, ['node', '-e', `
      const fs = require('node:fs');
      const codes = ['/tmp/probe', '/app/probe', '/app/dist/probe'].map((f) => {
        try { fs.writeFileSync(f, 'x'); return 'written'; } catch (err) { return err.code; }
      });
      console.log(JSON.stringify({ uid: process.getuid(), cwd: process.cwd(), codes }));`]);
    assert.deepEqual(await withTimeout(probe.exited, 30_000, 'probe'), { code: 0, signal: null }, probe.logs.join('\n'));
    assert.deepEqual(JSON.parse(probe.logs.at(-1)!), { uid: 10001, cwd: '/app', codes: ['EROFS', 'EROFS', 'EROFS'] });
  });

  it('runs migrate, then serve: /healthz and /readyz 200, SIGTERM exits 0 (read-only root, uid 10001)', async () => {
    const env = { ...KEYSPACES, CASSANDRA_CONTACT_POINTS: process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042', LOG_LEVEL: 'info' };

    const migrate = launch(rootfs, config, ['migrate'], env);
    const migrated = await withTimeout(migrate.exited, 120_000, 'migrate');
    assert.deepEqual(migrated, { code: 0, signal: null }, migrate.logs.join('\n'));
    assert.ok(migrate.logs.some((l) => /"(migrations applied|schema already current)"/.test(l)), migrate.logs.join('\n'));

    const port = await freePort();
    const serve = launch(rootfs, config, config.Cmd ?? [], { ...env, PORT: String(port), HOST: '127.0.0.1' });
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitStatus(`${url}/healthz`, 200, 60_000, serve);
      await waitStatus(`${url}/readyz`, 200, 60_000, serve);
      const metrics = await fetch(`${url}/metrics`);
      assert.equal(metrics.status, 200);
      // The process really is the image's user, in the image's root, which is read-only.
      const status = readFileSync(`/proc/${serve.pid}/status`, 'utf8');
      assert.match(status, /^Uid:\s+10001\s+10001\s+10001\s+10001$/m);
      assert.match(readFileSync(`/proc/${serve.pid}/cmdline`, 'utf8'), /^node\0--import\0\.\/dist\/observability\/instrument\.js\0dist\/cli\.js\0serve\0$/);
      const mountinfo = readFileSync(`/proc/${serve.pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/');
      assert.match(mountinfo ?? '', /\sro[,\s]/, `root mount: ${mountinfo}`);

      serve.kill('SIGTERM');
      const exit = await withTimeout(serve.exited, 30_000, 'serve after SIGTERM');
      assert.deepEqual(exit, { code: 0, signal: null }, serve.logs.join('\n'));
      assert.ok(serve.logs.some((l) => l.includes('"shutting down"') && l.includes('SIGTERM')), serve.logs.join('\n'));
    } finally {
      serve.kill('SIGKILL');
    }
  });

  it('starts tracing from the --import preload when OTEL_* asks for it', async () => {
    const port = await freePort();
    const serve = launch(rootfs, config, ['serve'], {
      ...KEYSPACES, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', OTEL_TRACES_EXPORTER: 'console',
    });
    try {
      await waitStatus(`http://127.0.0.1:${port}/healthz`, 200, 60_000, serve);
      const on = serve.logs.find((l) => l.includes('"tracing on"'));
      assert.ok(on, serve.logs.join('\n'));
      assert.equal((JSON.parse(on) as { startedBy: string }).startedBy, 'preload');
      serve.kill('SIGTERM');
      assert.deepEqual(await withTimeout(serve.exited, 30_000, 'serve after SIGTERM'), { code: 0, signal: null }, serve.logs.join('\n'));
    } finally {
      serve.kill('SIGKILL');
    }
  });
});
