import { register } from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { SpanKind } from '@opentelemetry/api';
import {
  ParentBasedSampler, SamplingDecision, type Sampler, type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KoaInstrumentation } from '@opentelemetry/instrumentation-koa';
import { CassandraDriverInstrumentation } from '@opentelemetry/instrumentation-cassandra-driver';

/** Probes and scrapes would otherwise be most of the traces. */
const UNTRACED = /^\/(?:healthz|readyz|metrics)(?:[?/]|$)/;

export interface SdkOptions {
  /** Span processors to use instead of the ones OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_* describe (tests). */
  spanProcessors?: SpanProcessor[];
  env?: NodeJS.ProcessEnv;
}

export function createInstrumentations() {
  return [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (req) => UNTRACED.test(req.url ?? ''),
      // Outgoing calls (Kubernetes API, Pushgateway) only as part of a trace, never as traces of their own.
      requireParentforOutgoingSpans: true,
    }),
    new KoaInstrumentation(),
    // Statement text only (CQL with `?` markers, never bound values: enhancedDatabaseReporting stays off).
    new CassandraDriverInstrumentation(),
  ];
}

/**
 * Root spans come from incoming requests only. Statements and calls made outside any request (writer-lease
 * renewals, readiness checks, pool housekeeping) would otherwise each be a one-span trace every few seconds.
 */
export const requestRootsOnly: Sampler = {
  shouldSample: (_context, _traceId, _name, kind) => ({
    decision: kind === SpanKind.CLIENT ? SamplingDecision.NOT_RECORD : SamplingDecision.RECORD_AND_SAMPLED,
  }),
  toString: () => 'RequestRootsOnly',
};

/**
 * Traces only: metrics stay with prom-client (/metrics) and logs with pino (stdout), so the SDK gets no
 * metric reader and no log processor even though its defaults would export both over OTLP. Without explicit
 * span processors the exporter comes from the standard variables (OTEL_TRACES_EXPORTER, default otlp;
 * OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT / _PROTOCOL / _HEADERS; OTEL_BSP_*). OTEL_TRACES_SAMPLER, when set,
 * replaces the default sampler: parent-based, with roots only for incoming requests (requestRootsOnly).
 */
export function createSdk(opts: SdkOptions = {}): NodeSDK {
  const env = opts.env ?? process.env;
  const named = Boolean(env.OTEL_SERVICE_NAME) || /(?:^|,)\s*service\.name=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '');
  return new NodeSDK({
    serviceName: named ? undefined : 'ephemera',
    spanProcessors: opts.spanProcessors,
    sampler: env.OTEL_TRACES_SAMPLER ? undefined : new ParentBasedSampler({ root: requestRootsOnly }),
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: createInstrumentations(),
  });
}

/**
 * Registers import-in-the-middle's loader hook so that ES modules (koa's ESM entry, `node:http` imported from
 * ESM) can be patched. With the message channel the hook only wraps the modules an instrumentation asked for.
 * Node 20 has no synchronous module.registerHooks that the loader supports, so this is the asynchronous
 * module.register() loader (it runs on a loader thread). Only modules imported after this call are patched:
 * hence the preload (instrument.ts) for production.
 */
function registerEsmHook(): () => Promise<void> {
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
  return waitForAllMessagesAcknowledged;
}

/** Loader hook, SDK, instrumentations: everything, in the order that works. Resolves once the hook is ready. */
export async function bootSdk(opts: SdkOptions = {}): Promise<NodeSDK> {
  const acknowledged = registerEsmHook();
  const sdk = createSdk(opts);
  sdk.start();
  await acknowledged();
  return sdk;
}
