import { MOUNTS } from './chats.js';
import { commonErrors, errorResponse, jsonResponse, ref, type Json, type PathModule } from './components.js';

/** The largest raw body the configured store takes (settings.ts: the cassandra store keeps the JSON limit). */
export interface BodyLimits { maxStreamedBytes: number }

const TAG = 'chat applications';
const text = (description: string): Json => ({
  description,
  headers: {
    ETag: ref('headers', 'ETag'),
    'Content-Length': { description: 'The body\'s size in bytes, as its row recorded it.', schema: { type: 'integer' } },
    'Repr-Digest': { description: 'RFC 9530: `sha-256=:<base64>:`, the SHA-256 its row recorded (absent for a ' +
      'body written before file storage). Sent before the bytes: a client can check what it received.',
    schema: { type: 'string' } },
  },
  content: { 'text/plain; charset=utf-8': { schema: { type: 'string' } } },
});
const streamed = 'Streamed from the body store with bounded memory; its size and SHA-256 are checked against its row as it ' +
  'goes. A missing object or a size that differs is 500 before any byte; a digest mismatch shows only at the end, ' +
  'after the bytes went out: the last chunk is then withheld and the connection aborted (so the client never sees a ' +
  'complete response: it has fewer bytes than Content-Length), logged and counted ' +
  '(ephemera_chat_body_digest_mismatches_total). HEAD answers the headers only.';
const notFound = (what: string): Json => ({
  404: errorResponse(what, ['not_found']),
  503: ref('responses', 'Unavailable'),
  ...commonErrors(),
});

/**
 * A message's body as its own resource (src/http/chats/body-routes.ts; docs/file-storage.md, "Streamed bodies"),
 * under both mounts of the applications routes.
 */
export function messageBodyPaths(limits: BodyLimits): PathModule {
  const max = limits.maxStreamedBytes;
  const paths: Record<string, Json> = {};
  for (const { prefix, suffix } of MOUNTS) {
    const message = `${prefix}/{token}/chats/{chat}/messages/{message}`;
    const params = [ref('parameters', 'Token'), ref('parameters', 'ChatNumber'), ref('parameters', 'MessageNumber')];
    paths[`${message}/body`] = {
      get: {
        operationId: `getMessageBody${suffix}`, tags: [TAG], summary: 'Read a message\'s body as text',
        description: `The current version's body, raw. ${streamed}`,
        parameters: params,
        responses: { 200: text('The body.'), 400: errorResponse('A malformed number.', ['bad_request', 'invalid_number']),
          ...notFound('No such application, chat or message (or it was deleted).') },
      },
      put: {
        operationId: `putMessageBody${suffix}`, tags: [TAG], summary: 'Replace a message\'s body with a raw upload',
        description: 'The next version of the message, its body sent raw (UTF-8 text) with a Content-Length, at most ' +
          `CHAT_MAX_STREAMED_BODY_BYTES (${max} bytes here; CHAT_MAX_BODY_BYTES with CHAT_BODY_STORE=cassandra). ` +
          'Streamed to the body store while its SHA-256 is computed, with bounded memory; the row points to the ' +
          'object only once it is whole (and, on S3, verified by the store against the digest). A body over the ' +
          'limit is refused (413) before it is read. If-Match and Lease-Token rule as for a JSON edit. The answer is ' +
          'the new version\'s entry (as in .../versions), not the body.',
        parameters: [...params, ref('parameters', 'IfMatch'), ref('parameters', 'LeaseTokenParam'),
          { name: 'Content-Length', in: 'header', required: true, description: 'The body\'s size in bytes.',
            schema: { type: 'integer', minimum: 1, maximum: max } }],
        requestBody: {
          required: true,
          content: {
            'text/plain': { schema: { type: 'string', maxLength: max } },
            'application/octet-stream': { schema: { type: 'string', contentMediaType: 'text/plain' } },
          },
        },
        responses: {
          200: jsonResponse('Stored as the next version.', ref('schemas', 'StoredMessageBody'), { ETag: ref('headers', 'ETag') }),
          400: errorResponse('An empty body, a body that is not UTF-8 text, or fewer or more bytes than Content-Length; ' +
            'nothing is changed.', ['bad_request', 'invalid_number', 'invalid_body', 'length_mismatch', 'invalid_if_match',
            'invalid_lease_token']),
          409: errorResponse('Changed concurrently too often in a row (retry), or the Lease-Token names a lapsed lease.',
            ['conflict', 'lease_expired']),
          411: errorResponse('No Content-Length (a chunked upload): the size must be known before the upload.',
            ['length_required']),
          412: ref('responses', 'ChatMessageStale'),
          413: errorResponse('The body is larger than the limit; it was not read and nothing is stored (the ' +
            'connection is closed).', ['payload_too_large']),
          415: errorResponse('Not text/plain (UTF-8) or application/octet-stream, or sent with a Content-Encoding.',
            ['unsupported_media_type']),
          423: ref('responses', 'Locked'),
          428: errorResponse('REQUIRE_IF_MATCH=true and no If-Match was sent.', ['precondition_required']),
          ...notFound('No such application, chat or message (or it was deleted).'),
        },
      },
    };
    paths[`${message}/versions/{version}/body`] = {
      get: {
        operationId: `getMessageVersionBody${suffix}`, tags: [TAG], summary: 'Read one version\'s body as text',
        description: `A retained version's body, raw. ${streamed} With CHAT_BODY_STORE=cassandra only the current ` +
          'version has a body (older ones: 404).',
        parameters: [...params, { name: 'version', in: 'path', required: true, description: 'A version number.',
          schema: { type: 'integer', minimum: 1 } }],
        responses: { 200: text('The body.'),
          400: errorResponse('A malformed number.', ['bad_request', 'invalid_number', 'invalid_version']),
          ...notFound('No such application, chat or message (or it was deleted), or no such retained version.') },
      },
    };
  }
  const schemas = {
    StoredMessageBody: { type: 'object', additionalProperties: false,
      required: ['number', 'version', 'size', 'digest', 'edited_at', 'lease_holder'],
      description: 'The version a raw upload wrote (the fields of MessageVersion, with the message number).',
      properties: {
        number: { type: 'integer', minimum: 1, description: 'The message number.' },
        version: { type: 'integer', minimum: 1, description: 'The new version; the ETag is `"<version>"`.' },
        size: { type: 'integer', minimum: 1, description: 'Bytes stored.' },
        digest: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'SHA-256 (hex) of the bytes stored.' },
        edited_at: { type: 'string', format: 'date-time', description: 'When this version was written, ISO 8601 UTC.' },
        lease_holder: { type: ['string', 'null'], description: 'A digest of the edit lease\'s token held, or null.' },
      } },
  };
  // The tag is the applications module's (declared there once).
  return { tags: [], paths, components: { schemas } };
}
