/**
 * The built container image, run by a real OCI runtime: podman with runc, the way the chart and compose.yaml run
 * it: read-only root filesystem (no tmpfs either), uid 10001, every capability dropped, no-new-privileges, host
 * network on 127.0.0.1 (podman's bridge hands out private-range addresses, which this machine must not use),
 * against the local Cassandra. `migrate` first, then `serve`: /healthz and /readyz answer 200, a message makes
 * the create/read/list round trip, and `podman stop` (SIGTERM, SIGKILL only after the grace period) ends it
 * with exit code 0.
 *
 * Needs root, podman and a built image: `scripts/dev/image.sh build && scripts/dev/image.sh test` (make test-image).
 * IMAGE (default localhost/ephemera:dev) and IMAGE_SCRIPT (scripts/dev/image.sh, which owns the storage flags and
 * points podman at scripts/dev/podman/*.conf) come from the environment.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);
const IMAGE = process.env.IMAGE ?? 'localhost/ephemera:dev';
const SCRIPT = process.env.IMAGE_SCRIPT ?? 'scripts/dev/image.sh';
/** Own keyspaces: this test never touches `make run` or node:test data. */
const KEYSPACES = { CASSANDRA_HOT_KEYSPACE: 'ephemera_image_hot', CASSANDRA_COLD_KEYSPACE: 'ephemera_image_cold' };
/** The service's drain budget (config default 10 s); `podman stop` SIGKILLs (exit 137) only 5 s after it. */
const SHUTDOWN_TIMEOUT_MS = 10_000;
const STOP_GRACE_S = SHUTDOWN_TIMEOUT_MS / 1000 + 5;

/** How every container of this test is run: the chart's securityContext, in podman flags. */
const HARDENED = [
  '--pull=never', '--runtime=runc', '--network=host', '--read-only', '--read-only-tmpfs=false',
  '--user=10001:10001', '--cap-drop=ALL', '--security-opt=no-new-privileges',
  '--ulimit=nofile=1024:1024', '--ulimit=nproc=1024:1024',
];

interface ImageConfig { User?: string; Env?: string[]; Entrypoint?: string[]; Cmd?: string[]; WorkingDir?: string; StopSignal?: string }

async function podman(...args: string[]): Promise<string> {
  const { stdout } = await run(SCRIPT, ['podman', ...args], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

/** podman, with its exit code and both streams instead of a throw. */
async function podmanResult(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(SCRIPT, ['podman', ...args], { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, out: `${stdout}${stderr}` };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** Both streams of the container (podman logs writes the container's stderr to its own stderr). */
const logsOf = async (name: string) => (await podmanResult('logs', name)).out;

const envFlags = (env: Record<string, string>) => Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    }).on('error', reject);
  });
}

async function waitStatus(url: string, status: number, timeoutMs: number, name: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  for (;;) {
    const state = await podman('inspect', '--format', '{{.State.Status}}', name);
    if (state !== 'running') throw new Error(`container ${state} while waiting for ${url}:\n${await logsOf(name)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      last = `${res.status} ${await res.text()}`;
      if (res.status === status) return;
    } catch (err) { last = String(err); }
    if (Date.now() > deadline) throw new Error(`${url}: wanted ${status} within ${timeoutMs} ms, last: ${last ?? 'no answer'}\n${await logsOf(name)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface Inspected {
  State: { Pid: number; ExitCode: number; Status: string };
  OCIRuntime: string;
  HostConfig: { ReadonlyRootfs: boolean; NetworkMode: string; CapDrop?: string[] };
  Config: { User: string };
}
const inspect = async (name: string) => (JSON.parse(await podman('inspect', '--type', 'container', name)) as Inspected[])[0]!;

describe(`container image ${IMAGE} under podman`, () => {
  const containers: string[] = [];
  const unique = (what: string) => { const n = `ephemera-image-${what}-${randomUUID().slice(0, 8)}`; containers.push(n); return n; };
  after(async () => { for (const c of containers) await podmanResult('rm', '--force', '--time', '0', c); });

  it('when inspected, then it is a non-root, preloading, signal-handling entry point', async () => {
    const [info] = JSON.parse(await podman('image', 'inspect', IMAGE)) as Array<{ Config: ImageConfig }>;
    const config = info!.Config;
    assert.equal(config.User, '10001:10001');
    assert.deepEqual(config.Entrypoint, ['node', '--import', './dist/observability/instrument.js', 'dist/cli.js']);
    assert.deepEqual(config.Cmd, ['serve']);
    assert.equal(config.WorkingDir, '/app');
    assert.equal(config.StopSignal ?? 'SIGTERM', 'SIGTERM');
    assert.ok(config.Env?.includes('NODE_ENV=production'), `Env: ${config.Env?.join(' ')}`);
  });

  it('when run hardened, then it holds compiled code and production dependencies only, root-owned, and nothing is writable', async () => {
    const probe = `
      const fs = require('node:fs');
      const has = (f) => fs.existsSync('/app/' + f);
      const st = (f) => { const s = fs.statSync('/app/' + f); return { uid: s.uid, worldWritable: (s.mode & 2) !== 0 }; };
      const write = (f) => { try { fs.writeFileSync(f, 'x'); return 'written'; } catch (err) { return err.code; } };
      const caps = fs.readFileSync('/proc/self/status', 'utf8').match(/^CapEff:\\s+(\\w+)$/m)[1];
      console.log(JSON.stringify({
        present: ['package.json', 'dist/cli.js', 'dist/observability/instrument.js', 'node_modules/cassandra-driver/package.json'].filter(has),
        absent: ['src', 'test', '.git', 'node_modules/typescript', 'node_modules/tsx', 'node_modules/eslint', 'node_modules/fast-check'].filter((f) => !has(f)),
        owners: ['.', 'dist', 'dist/cli.js', 'node_modules'].map(st),
        type: JSON.parse(fs.readFileSync('/app/package.json', 'utf8')).type,
        uid: process.getuid(), gid: process.getgid(), cwd: process.cwd(), caps,
        writes: ['/tmp/probe', '/app/probe', '/app/dist/probe', '/probe'].map(write),
      }));`;
    const res = await podmanResult('run', '--rm', ...HARDENED, '--entrypoint', 'node', IMAGE, '-e', probe);
    assert.equal(res.code, 0, res.out);
    assert.deepEqual(JSON.parse(res.out.trim().split('\n').at(-1)!), {
      present: ['package.json', 'dist/cli.js', 'dist/observability/instrument.js', 'node_modules/cassandra-driver/package.json'],
      absent: ['src', 'test', '.git', 'node_modules/typescript', 'node_modules/tsx', 'node_modules/eslint', 'node_modules/fast-check'],
      owners: Array.from({ length: 4 }, () => ({ uid: 0, worldWritable: false })),
      type: 'module',
      uid: 10001, gid: 10001, cwd: '/app', caps: '0000000000000000',
      writes: ['EROFS', 'EROFS', 'EROFS', 'EROFS'],
    });
  });

  it('when migrated and served, then probes answer 200, a message round-trips, and podman stop ends it with exit 0', async () => {
    const cassandra = { CASSANDRA_CONTACT_POINTS: process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042' };
    const env = { ...KEYSPACES, ...cassandra, LOG_LEVEL: 'info' };

    const migrate = await podmanResult('run', '--rm', ...HARDENED, ...envFlags(env), IMAGE, 'migrate');
    assert.equal(migrate.code, 0, migrate.out);
    assert.match(migrate.out, /"(migrations applied|schema already current)"/);

    const port = await freePort();
    const name = unique('serve');
    await podman('run', '--detach', '--name', name, ...HARDENED, `--stop-timeout=${STOP_GRACE_S}`,
      ...envFlags({ ...env, PORT: String(port), HOST: '127.0.0.1', SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) }), IMAGE);
    const url = `http://127.0.0.1:${port}`;
    await waitStatus(`${url}/healthz`, 200, 60_000, name);
    await waitStatus(`${url}/readyz`, 200, 60_000, name);

    // The runtime really applied the hardening: runc, read-only root, the image's user, no capabilities.
    const info = await inspect(name);
    assert.equal(info.OCIRuntime, 'runc');
    assert.equal(info.HostConfig.ReadonlyRootfs, true);
    assert.equal(info.HostConfig.NetworkMode, 'host');
    const status = readFileSync(`/proc/${info.State.Pid}/status`, 'utf8');
    assert.match(status, /^Uid:\s+10001\s+10001\s+10001\s+10001$/m);
    assert.match(status, /^CapEff:\s+0{16}$/m);
    assert.match(status, /^NoNewPrivs:\s+1$/m);
    assert.match(readFileSync(`/proc/${info.State.Pid}/cmdline`, 'utf8'), /^node\0--import\0\.\/dist\/observability\/instrument\.js\0dist\/cli\.js\0serve\0$/);
    const root = readFileSync(`/proc/${info.State.Pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/');
    assert.match(root ?? '', /\sro[,\s]/, `root mount: ${root}`);

    // One create/read/list round trip through the containerised service.
    const user = `image-${randomUUID().slice(0, 12)}`;
    const created = await fetch(`${url}/chat`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user, text: 'from a container', timeout: 600 }),
    });
    assert.equal(created.status, 201);
    const { id } = await created.json() as { id: number };
    const read = await fetch(`${url}/chat/${id}`);
    assert.equal(read.status, 200);
    assert.deepEqual(Object.entries(await read.json() as object).filter(([k]) => k !== 'expiration_date'), [['username', user], ['text', 'from a container']]);
    const listed = await fetch(`${url}/chats/${encodeURIComponent(user)}`);
    assert.deepEqual(await listed.json(), [{ id, text: 'from a container' }]);
    assert.equal((await fetch(`${url}/metrics`)).status, 200);

    // SIGTERM (the image's StopSignal); podman sends SIGKILL, exit 137, only if the drain overran its budget.
    const stopped = await podmanResult('stop', '--time', String(STOP_GRACE_S), name);
    assert.equal(stopped.code, 0, stopped.out);
    const after = await inspect(name);
    const logs = await logsOf(name);
    assert.equal(after.State.Status, 'exited');
    assert.equal(after.State.ExitCode, 0, logs);
    assert.ok(logs.split('\n').some((l) => l.includes('"shutting down"') && l.includes('SIGTERM')), logs);
  });

  it('when OTEL_* asks for it, then tracing starts from the --import preload', async () => {
    const port = await freePort();
    const name = unique('otel');
    await podman('run', '--detach', '--name', name, ...HARDENED, `--stop-timeout=${STOP_GRACE_S}`, ...envFlags({
      ...KEYSPACES, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', OTEL_TRACES_EXPORTER: 'console',
    }), IMAGE, 'serve');
    await waitStatus(`http://127.0.0.1:${port}/healthz`, 200, 60_000, name);
    const on = (await logsOf(name)).split('\n').find((l) => l.includes('"tracing on"'));
    assert.ok(on, await logsOf(name));
    assert.equal((JSON.parse(on) as { startedBy: string }).startedBy, 'preload');
    assert.equal((await podmanResult('stop', '--time', String(STOP_GRACE_S), name)).code, 0);
    assert.equal((await inspect(name)).State.ExitCode, 0, await logsOf(name));
  });
});
