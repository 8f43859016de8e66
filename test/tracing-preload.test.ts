import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ensureSchema, postChat, TEST_ENV, uniqueUser, waitReady } from './support/harness.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HTTP_SCOPE = '@opentelemetry/instrumentation-http';
const CASSANDRA_SCOPE = '@opentelemetry/instrumentation-cassandra-driver';
// ------------------------------------------------------------------------------------------------------------
// The production wiring, as a separate process: the --import preload, switched on by OTEL_* variables only,
// exporting OTLP/HTTP (JSON) to a fake collector.

interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; scope: string }

async function startCollector(): Promise<{ url: string; spans: OtlpSpan[]; close(): Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: Array<{ scopeSpans: Array<{ scope: { name: string }; spans: Omit<OtlpSpan, 'scope'>[] }> }>;
        };
        for (const rs of body.resourceSpans) {
          for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, scope: ss.scope.name });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise<void>((resolve) => { srv.closeAllConnections(); srv.close(() => resolve()); }),
  };
}

interface Service { url: string; logs: string[]; stop(): Promise<number | null> }

/** `node --import tsx --import ./src/observability/instrument.ts src/cli.ts serve`: the preload as production uses it. */
async function spawnWithPreload(env: Record<string, string>): Promise<Service> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')));
  const proc: ChildProcess = spawn(process.execPath,
    ['--import', 'tsx', '--import', './src/observability/instrument.ts', 'src/cli.ts', 'serve'], {
      cwd: ROOT,
      env: { ...clean, ...TEST_ENV, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const logs: string[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => logs.push(l));
  createInterface({ input: proc.stderr! }).on('line', (l) => logs.push(l));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const line = logs.find((l) => l.includes('"listening"'));
      if (!line) return;
      clearInterval(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    }, 50);
    void exited.then((code) => { clearInterval(timer); reject(new Error(`service exited (${code}):\n${logs.join('\n')}`)); });
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url);
  return {
    url,
    logs,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

const requestLine = (logs: string[], route: string) => logs
  .filter((l) => l.startsWith('{'))
  .map((l) => JSON.parse(l) as Record<string, unknown>)
  .find((l) => l.msg === 'request' && l.route === route);

describe('tracing in the service process (preload + OTEL_* variables)', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  before(async () => { await ensureSchema(); collector = await startCollector(); });
  after(async () => { await collector.close(); });

  it('when OTEL_EXPORTER_OTLP_ENDPOINT is set, then POST /chat is exported as a server span with a child Cassandra span, and its log line carries the trace id', async () => {
    const svc = await spawnWithPreload({
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'ephemera-test',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    try {
      const res = await postChat(svc.url, { username: uniqueUser(), text: 'hello over OTLP' });
      assert.equal(res.status, 201);
      const deadline = Date.now() + 10_000;
      let serverSpan: OtlpSpan | undefined;
      while (!serverSpan && Date.now() < deadline) {
        serverSpan = collector.spans.find((s) => s.scope === HTTP_SCOPE && s.name === 'POST /chat');
        if (!serverSpan) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(serverSpan, `server span exported; got ${JSON.stringify(collector.spans.map((s) => s.name))}`);
      assert.equal(serverSpan.kind, 2, 'SPAN_KIND_SERVER');
      // the batch processor may send the rest a moment later
      let dbSpans: OtlpSpan[] = [];
      while (dbSpans.length === 0 && Date.now() < deadline) {
        dbSpans = collector.spans.filter((s) => s.traceId === serverSpan!.traceId && s.scope === CASSANDRA_SCOPE);
        if (dbSpans.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(dbSpans.length >= 1, 'a Cassandra span in the same trace');
      const byId = new Map(collector.spans.map((s) => [s.spanId, s]));
      for (const db of dbSpans) {
        assert.equal(db.kind, 3, 'SPAN_KIND_CLIENT');
        let cur: OtlpSpan | undefined = db;
        while (cur?.parentSpanId && cur.spanId !== serverSpan.spanId) cur = byId.get(cur.parentSpanId);
        assert.equal(cur?.spanId, serverSpan.spanId, `${db.name} descends from the server span`);
      }
      // Log lines are written in buffered chunks (LOG_BUFFER_BYTES), at the latest 250 ms later.
      let line = requestLine(svc.logs, '/chat');
      while (!line && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        line = requestLine(svc.logs, '/chat');
      }
      assert.ok(line, 'a request log line for POST /chat');
      assert.equal(line.trace_id, serverSpan.traceId, 'the log line carries the trace id');
      assert.match(String(line.span_id), /^[0-9a-f]{16}$/);
      assert.ok(svc.logs.some((l) => l.includes('"tracing on"') && l.includes('"startedBy":"preload"')));
    } finally {
      assert.equal(await svc.stop(), 0);
    }
  });

  it('when no OTEL variable is set, then the preload starts nothing and log lines carry no trace id', async () => {
    const before = collector.spans.length;
    const svc = await spawnWithPreload({});
    try {
      const res = await postChat(svc.url, { username: uniqueUser(), text: 'not traced' });
      assert.equal(res.status, 201);
      let line = requestLine(svc.logs, '/chat');
      for (const until = Date.now() + 5000; !line && Date.now() < until;) {
        await new Promise((r) => setTimeout(r, 50));
        line = requestLine(svc.logs, '/chat');
      }
      assert.ok(line, 'a request log line for POST /chat');
      assert.equal(line.trace_id, undefined);
      assert.ok(!svc.logs.some((l) => l.includes('"tracing on"')));
      assert.equal(collector.spans.length, before);
    } finally {
      assert.equal(await svc.stop(), 0);
    }
  });
});
