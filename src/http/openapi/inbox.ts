import { commonErrors, errorResponse, jsonResponse, ref, type Limits, type PathModule } from './components.js';

const EXPIRATION = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$', examples: ['2026-11-22 19:02:00'] };

/** POST /chat, GET /chat/{id} (and its username variant when CHAT_PATH_USERNAMES=true), GET /chats/{username}. */
export function inboxPaths(limits: Limits, opts: { pathUsernames: boolean }): PathModule {
  const listed = jsonResponse('Every unexpired message of the user, oldest first. They are consumed: never listed again.',
    ref('schemas', 'ListedMessages'));
  const listErrors = {
    401: ref('responses', 'Unauthorized'),
    403: ref('responses', 'Forbidden'),
  };
  const timeout = {
    type: ['integer', 'null'], minimum: 0, maximum: limits.maxTimeoutSeconds, default: 60,
    description: 'Whole seconds until the message expires; 0 means already expired (stored, never listed). ' +
      'Absent, null or an empty form field: 60.',
  };
  return {
    tags: [{ name: 'inbox', description: 'Post a message, read it by id, list and consume a user\'s messages.' }],
    components: {
      schemas: {
        NewMessage: {
          type: 'object', required: ['username', 'text'],
          properties: { username: ref('schemas', 'Username'), text: ref('schemas', 'Text'), timeout },
        },
        Created: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: ref('schemas', 'MessageId') } },
        Message: {
          type: 'object', required: ['username', 'text', 'expiration_date'], additionalProperties: false,
          properties: {
            username: ref('schemas', 'Username'), text: ref('schemas', 'Text'),
            expiration_date: { ...EXPIRATION, description: 'UTC. For a listed message, the moment it was read.' },
          },
        },
        ListedMessages: {
          type: 'array',
          items: {
            type: 'object', required: ['id', 'text'], additionalProperties: false,
            properties: { id: ref('schemas', 'MessageId'), text: ref('schemas', 'Text') },
          },
        },
      },
    },
    paths: {
      '/chat': {
        post: {
          operationId: 'createMessage', tags: ['inbox'], summary: 'Post a message',
          description: 'The body is read by what it is: a JSON object is accepted whatever the Content-Type says ' +
            '(none, text/plain, application/x-www-form-urlencoded as curl -d sends, application/json with any charset); ' +
            'otherwise a form body is read as fields. XML and multipart are refused (415). Nothing is stored for a ' +
            `rejected request. Body limit: ${limits.maxBodyBytes} bytes.`,
          parameters: [ref('parameters', 'IdempotencyKey')],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: ref('schemas', 'NewMessage'), example: { username: 'paulrad', text: 'hi', timeout: 120 } },
              'application/x-www-form-urlencoded': { schema: ref('schemas', 'NewMessage') },
            },
          },
          responses: {
            201: jsonResponse('Stored.', ref('schemas', 'Created'), { 'Idempotent-Replayed': ref('headers', 'IdempotentReplayed') }),
            400: errorResponse('A malformed body or a bad field; nothing stored.', [
              'invalid_json', 'invalid_body', 'invalid_username', 'invalid_text', 'invalid_timeout', 'invalid_idempotency_key',
            ]),
            409: errorResponse('A request with this Idempotency-Key is still in progress; retry.',
              ['idempotency_key_in_progress'], { 'Retry-After': ref('headers', 'RetryAfter') }),
            413: errorResponse('The body is larger than MAX_BODY_BYTES (after decompression).', ['payload_too_large']),
            415: errorResponse('A body the service cannot read: XML, multipart, an unknown charset or content encoding, ' +
              'or another type whose body is not JSON.', ['unsupported_media_type']),
            422: errorResponse('This Idempotency-Key was used with another body.', ['idempotency_key_reused']),
            503: ref('responses', 'Unavailable'),
            ...commonErrors(),
          },
        },
      },
      '/chat/{id}': {
        get: {
          operationId: 'getMessage', tags: ['inbox'],
          summary: opts.pathUsernames ? 'Read a message by id, or list and consume a user\'s messages' : 'Read a message by id',
          description: opts.pathUsernames
            ? 'CHAT_PATH_USERNAMES=true: a segment that is a valid id (1..16 digits, a safe integer) is an id; anything ' +
              'else is a username, listed and consumed as GET /chats/{username} does. An all-digit username that is ' +
              'also a valid id can only be listed at /chats/{username}.'
            : 'Expired and unexpired messages alike; once consumed, expiration_date is the read time.',
          parameters: [{
            name: 'id', in: 'path', required: true,
            description: opts.pathUsernames ? 'A message id, or a URL-encoded username.' : 'A message id.',
            schema: { type: 'string' },
          }],
          responses: {
            200: opts.pathUsernames
              ? jsonResponse('The message (an id), or the user\'s listed messages (a username).',
                { oneOf: [ref('schemas', 'Message'), ref('schemas', 'ListedMessages')] })
              : jsonResponse('The message.', ref('schemas', 'Message')),
            400: errorResponse('Not an id (or, with the variant, not a valid username), or bad percent-encoding.',
              ['invalid_id', 'invalid_username', 'bad_request']),
            ...(opts.pathUsernames ? listErrors : {}),
            404: errorResponse('No message with this id.', ['not_found']),
            503: ref('responses', 'Unavailable'),
            ...commonErrors(),
          },
        },
      },
      '/chats/{username}': {
        get: {
          operationId: 'listMessages', tags: ['inbox'], summary: 'List and consume a user\'s messages',
          description: 'Each message is delivered by exactly one list read. With AUTH_MODE=jwt, an HS256 bearer token ' +
            'whose subject is the username is required.',
          security: [{}, { bearer: [] }],
          parameters: [{ name: 'username', in: 'path', required: true, description: 'URL-encoded UTF-8.', schema: ref('schemas', 'Username') }],
          responses: {
            200: listed,
            400: errorResponse('Not a valid username, or bad percent-encoding.', ['invalid_username', 'bad_request']),
            ...listErrors,
            503: ref('responses', 'Unavailable'),
            ...commonErrors(),
          },
        },
      },
    },
  };
}
