import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { bootTracing } from '../src/observability/tracing.js';

// The SDK (and import-in-the-middle's loader hook) must be in place before koa, node:http and cassandra-driver
// are imported, so everything that loads them is imported dynamically, after this.
const exporter = new InMemorySpanExporter();
const tracing = await bootTracing({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const { startTestServer, postChat, getJson, uniqueUser } = await import('./support/harness.js');
type RunningServer = Awaited<ReturnType<typeof startTestServer>>;

const HTTP_SCOPE = '@opentelemetry/instrumentation-http';
const CASSANDRA_SCOPE = '@opentelemetry/instrumentation-cassandra-driver';

/** Waits until `pick` finds what it needs among the finished spans (SimpleSpanProcessor exports on end). */
async function waitForSpans<T>(pick: (spans: ReadableSpan[]) => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = pick(exporter.getFinishedSpans());
    if (found !== undefined) return found;
    if (Date.now() > deadline) {
      const seen = exporter.getFinishedSpans().map((s) => `${s.instrumentationScope.name}: ${s.name}`);
      throw new Error(`no ${what} after ${timeoutMs} ms; finished spans: ${JSON.stringify(seen)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The ids from `span` up to its trace root, following parent span ids among `spans`. */
function ancestry(span: ReadableSpan, spans: ReadableSpan[]): string[] {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  const chain: string[] = [];
  let parent = span.parentSpanContext?.spanId;
  while (parent && !chain.includes(parent)) {
    chain.push(parent);
    parent = byId.get(parent)?.parentSpanContext?.spanId;
  }
  return chain;
}

// The production wiring (the --import preload, OTEL_* variables, OTLP export) is test/tracing-preload.test.ts.

describe('tracing with the in-memory exporter', () => {
  let server: RunningServer;
  before(async () => { server = await startTestServer(); });
  after(async () => {
    await server.close();
    await tracing.shutdown();
  });

  it('when one POST /chat is served, then its HTTP server span has a child Cassandra span in the same trace', async () => {
    exporter.reset();
    const text = `traced message ${uniqueUser('text')}`;
    const res = await postChat(server.url, { username: uniqueUser(), text, timeout: 60 });
    assert.equal(res.status, 201);

    const serverSpan = await waitForSpans((spans) => spans.find((s) => s.kind === SpanKind.SERVER
      && s.instrumentationScope.name === HTTP_SCOPE && s.attributes['http.route'] === '/chat'), 'server span for POST /chat');
    assert.equal(serverSpan.name, 'POST /chat');
    assert.equal(serverSpan.parentSpanContext, undefined, 'the server span is the trace root');
    const traceId = serverSpan.spanContext().traceId;
    assert.match(traceId, /^[0-9a-f]{32}$/);
    assert.equal(res.headers.get('traceparent'), null, 'no trace context leaks into the response');

    const inTrace = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const dbSpans = inTrace.filter((s) => s.instrumentationScope.name === CASSANDRA_SCOPE);
    assert.ok(dbSpans.length >= 1, `a Cassandra span in trace ${traceId}`);
    for (const db of dbSpans) {
      assert.equal(db.kind, SpanKind.CLIENT);
      assert.ok(ancestry(db, inTrace).includes(serverSpan.spanContext().spanId),
        `${db.name} descends from the server span`);
      assert.ok(db.endTime[0] * 1e9 + db.endTime[1] <= serverSpan.endTime[0] * 1e9 + serverSpan.endTime[1],
        'the statement ends before the response');
    }
    // Koa's middleware spans sit between them; none of the spans carries the message text.
    assert.ok(inTrace.some((s) => s.instrumentationScope.name === '@opentelemetry/instrumentation-koa'));
    for (const s of inTrace) {
      assert.ok(!JSON.stringify(s.attributes).includes(text), `${s.name} attributes carry no message text`);
    }
  });

  it('when probes and /metrics are served, then they start no trace', async () => {
    exporter.reset();
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const res = await fetch(`${server.url}${path}`);
      await res.arrayBuffer();
      assert.equal(res.status, 200);
    }
    // a traced request afterwards, so we know every earlier span has been exported
    await getJson(`${server.url}/chats/${uniqueUser('nobody')}`);
    await waitForSpans((spans) => spans.find((s) => s.attributes['http.route'] === '/chats/:username'), 'span for GET /chats/:username');
    const probeSpans = exporter.getFinishedSpans().filter((s) => /healthz|readyz|metrics/.test(`${s.name} ${JSON.stringify(s.attributes)}`));
    assert.deepEqual(probeSpans.map((s) => s.name), []);
  });

  it('when a statement runs outside any request, then it starts no trace of its own', async () => {
    exporter.reset();
    await server.db.raw('SELECT release_version FROM system.local');
    await getJson(`${server.url}/chats/${uniqueUser('nobody')}`);
    await waitForSpans((spans) => spans.find((s) => s.attributes['http.route'] === '/chats/:username'), 'span for GET /chats/:username');
    const roots = exporter.getFinishedSpans().filter((s) => !s.parentSpanContext);
    assert.deepEqual(roots.map((s) => s.name), ['GET /chats/:username'], 'only the request is a trace root');
  });
});
