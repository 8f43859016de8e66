import type { Logger } from '../logger.js';

export interface Tracing { shutdown(): Promise<void> }

/**
 * OpenTelemetry is off unless the standard OTEL_* variables ask for an exporter. The SDK is loaded lazily, so
 * a service without tracing pays nothing for it.
 */
export async function startTracing(log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<Tracing> {
  const enabled = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
    && env.OTEL_SDK_DISABLED !== 'true' && env.OTEL_TRACES_EXPORTER !== 'none';
  if (!enabled) return { shutdown: async () => {} };
  const { createSdk } = await import('./otel-sdk.js');
  const sdk = await createSdk();
  sdk.start();
  log.info({ endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT }, 'tracing on');
  return { shutdown: () => sdk.shutdown() };
}
