import { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KoaInstrumentation } from '@opentelemetry/instrumentation-koa';
import { CassandraDriverInstrumentation } from '@opentelemetry/instrumentation-cassandra-driver';

/** The SDK with the three instrumentations this service needs; the exporter defaults to OTLP from OTEL_* vars. */
export async function createSdk(exporter?: SpanExporter): Promise<NodeSDK> {
  let traceExporter = exporter;
  if (!traceExporter) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    traceExporter = new OTLPTraceExporter();
  }
  return new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME ?? 'ephemera',
    traceExporter,
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => /^\/(healthz|readyz|metrics)/.test(req.url ?? '') }),
      new KoaInstrumentation(),
      new CassandraDriverInstrumentation(),
    ],
  });
}
