import { errorResponse, type PathModule } from './components.js';

/** The contract itself and the page rendered from it. */
export function docsPaths(assets: readonly string[]): PathModule {
  const noAuth = { security: [] };
  return {
    tags: [{ name: 'documentation', description: 'This document and the page rendered from it.' }],
    paths: {
      '/openapi.json': {
        get: {
          operationId: 'openApiDocument', tags: ['documentation'], summary: 'This OpenAPI 3.1 document', ...noAuth,
          responses: {
            200: {
              description: 'The document.',
              content: {
                'application/json': {
                  schema: {
                    type: 'object', required: ['openapi', 'paths'],
                    properties: { openapi: { const: '3.1.0' }, paths: { type: 'object' } },
                  },
                },
              },
            },
          },
        },
      },
      '/docs': {
        get: {
          operationId: 'docsPage', tags: ['documentation'], summary: 'A human-readable page of this document (Swagger UI)', ...noAuth,
          responses: { 200: { description: 'The page.', content: { 'text/html': { schema: { type: 'string' } } } } },
        },
      },
      '/docs/assets/{file}': {
        get: {
          operationId: 'docsAsset', tags: ['documentation'], summary: 'A script or style sheet of the page, served from node_modules', ...noAuth,
          parameters: [{ name: 'file', in: 'path', required: true, schema: { enum: [...assets] } }],
          responses: {
            200: {
              description: 'The file.',
              content: { 'text/css': { schema: { type: 'string' } }, 'text/javascript': { schema: { type: 'string' } } },
            },
            404: errorResponse('No such file.', ['not_found']),
          },
        },
      },
    },
  };
}
