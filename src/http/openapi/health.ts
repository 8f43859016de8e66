import { jsonResponse, ref, type PathModule } from './components.js';

/** Probes and metrics: never rate limited, never logged unless they fail. */
export function healthPaths(): PathModule {
  const noAuth = { security: [] };
  return {
    tags: [{ name: 'operations', description: 'Liveness, readiness and Prometheus metrics.' }],
    components: {
      schemas: {
        Health: { type: 'object', required: ['status'], additionalProperties: false, properties: { status: { const: 'ok' } } },
        Readiness: {
          type: 'object', required: ['status', 'checks'], additionalProperties: false,
          properties: {
            status: { enum: ['ready', 'not_ready'] },
            checks: {
              type: 'object', additionalProperties: { type: 'string' },
              description: '"ok" or what is wrong, for each of cassandra, schema, writer_lease (and server while shutting down).',
              examples: [{ cassandra: 'ok', schema: 'ok', writer_lease: 'ok' }],
            },
          },
        },
      },
    },
    paths: {
      '/healthz': {
        get: {
          operationId: 'liveness', tags: ['operations'], summary: 'Liveness: the process answers', ...noAuth,
          responses: { 200: jsonResponse('Alive.', ref('schemas', 'Health')) },
        },
      },
      '/readyz': {
        get: {
          operationId: 'readiness', tags: ['operations'], summary: 'Readiness: Cassandra, schema version, id-writer lease', ...noAuth,
          responses: {
            200: jsonResponse('Ready to serve.', ref('schemas', 'Readiness')),
            503: jsonResponse('Not ready (or shutting down); `checks` says why.', ref('schemas', 'Readiness')),
          },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics', tags: ['operations'], ...noAuth,
          summary: 'Prometheus metrics (on METRICS_PORT instead when that is set)',
          responses: {
            200: {
              description: 'Prometheus text exposition format.',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
    },
  };
}
