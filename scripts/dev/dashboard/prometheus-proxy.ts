import type { Context } from 'koa';

/**
 * Forwards GET and POST /api/v1/* to Prometheus, so the page stays same-origin (no CORS, a strict CSP) and a
 * browser never needs to know where Prometheus runs. Prometheus's answer (status, JSON body) passes unchanged;
 * when Prometheus cannot be reached the answer has Prometheus's own error shape, so the page shows it like any
 * query error.
 */
export async function proxyToPrometheus(ctx: Context, prometheusUrl: string, timeoutMs: number): Promise<void> {
  const target = `${prometheusUrl}${ctx.path}${ctx.querystring ? `?${ctx.querystring}` : ''}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  const type = ctx.get('content-type');
  if (type) headers['content-type'] = type;
  let body: Buffer | undefined;
  if (ctx.method === 'POST') body = await readBody(ctx);
  try {
    const res = await fetch(target, { method: ctx.method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
    ctx.status = res.status;
    ctx.type = res.headers.get('content-type') ?? 'application/json';
    ctx.body = Buffer.from(await res.arrayBuffer());
  } catch (err) {
    ctx.status = 502;
    ctx.body = { status: 'error', errorType: 'unavailable', error: `Prometheus at ${prometheusUrl} did not answer: ${(err as Error).message}` };
  }
}

// Prometheus's query forms are small; 1 MiB is far above the largest the page sends (one PromQL expression).
const MAX_BODY_BYTES = 1 << 20;

async function readBody(ctx: Context): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) ctx.throw(413, 'request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
