import { ref, type Components, type Json } from './components.js';

/** The chats' limits the document states (CHAT_MAX_NAME_LENGTH, CHAT_MAX_BODY_BYTES). */
export interface ChatsLimits { maxNameLength: number; maxBodyBytes: number }

const time = (what: string): Json => ({ type: 'string', format: 'date-time', description: `${what}, ISO 8601 UTC.` });
const version = { type: 'integer', minimum: 1, description: '1 at creation, + 1 per change; the ETag is `"<version>"`.' };
const number = (what: string): Json => ({ type: 'integer', minimum: 1, description: `The ${what} number (from 1).` });
const count = (what: string): Json => ({ type: 'integer', minimum: 0, description: `Live ${what}: recounted from the rows, follows writes by seconds.` });
const object = (required: string[], properties: Json): Json =>
  ({ type: 'object', required, additionalProperties: false, properties });
/** The error envelope's inner object, for answers that carry more than `error`. */
const error = (code: string): Json => object(['code', 'message'], { code: { const: code }, message: { type: 'string' } });
/** The /api/applications variant of an input: the Rails/Go chat system's name of `field` accepted too. */
const aliased = (input: Json, field: string, alias: string): Json => ({
  type: 'object',
  description: `\`${alias}\` (the Rails/Go chat system's name) is accepted for \`${field}\`; both with different ` +
    'values: 400 conflicting_fields.',
  properties: { ...(input.properties as Json), [alias]: (input.properties as Json)[field] },
  ...(input.required ? { anyOf: [{ required: [field] }, { required: [alias] }] } : {}),
});
const pathNumber = (name: string, what: string): Json =>
  ({ name, in: 'path', required: true, description: `The ${what} number.`, schema: { type: 'string', pattern: '^[0-9]+$' } });

/** Schemas, parameters, headers and responses of the /applications routes. */
export function chatsComponents(limits: ChatsLimits): Partial<Components> {
  const name = { type: 'string', minLength: 1, maxLength: limits.maxNameLength,
    description: `1..${limits.maxNameLength} characters, not blank.` };
  const stale = (schema: string): Json => ({
    description: 'If-Match named another version: nothing changed; `current` is what is stored now (its ETag is sent).',
    headers: { ETag: ref('headers', 'ETag') },
    content: { 'application/json': { schema: object(['error', 'current'], { error: error('precondition_failed'), current: ref('schemas', schema) }) } },
  });
  const inputs = {
    ApplicationInput: { type: 'object', required: ['name'], properties: { name } },
    ChatInput: { type: 'object', properties: { name: { ...name, type: ['string', 'null'] } } },
    ChatRename: { type: 'object', required: ['name'], properties: { name: { ...name, type: ['string', 'null'] } } },
    MessageInput: { type: 'object', required: ['body'], properties: { body: { type: 'string', minLength: 1 } } },
  };
  const versionFields = {
    version,
    size: { type: 'integer', minimum: 0, description: 'Bytes of UTF-8.' },
    digest: { type: 'string', pattern: '^([0-9a-f]{64})?$', description: 'SHA-256 (hex) of the body; empty for a message written before file storage.' },
    edited_at: time('When this version was written'),
    lease_holder: { type: ['string', 'null'], description: 'Who held the edit lease (a digest of its token, never the token); null without a lease.' },
  };
  return {
    schemas: {
      Application: object(['token', 'name', 'version', 'chats_count', 'created_at', 'updated_at'], {
        token: { type: 'string', pattern: '^[A-Za-z0-9_-]{32}$', description: '192 random bits, base64url: the application\'s key.' },
        name, version, chats_count: count('chats'), created_at: time('Created'), updated_at: time('Last changed'),
      }),
      Chat: object(['number', 'name', 'version', 'messages_count', 'created_at', 'updated_at'], {
        number: number('chat'), name: { ...name, type: ['string', 'null'] }, version, messages_count: count('messages'),
        created_at: time('Created'), updated_at: time('Last changed'),
      }),
      ChatMessage: object(['number', 'body', 'version', 'created_at', 'updated_at'], {
        number: number('message'),
        body: { type: 'string', minLength: 1, description: `1..${limits.maxBodyBytes} bytes of UTF-8.` },
        version, created_at: time('Created'), updated_at: time('Last edited'),
      }),
      MessageVersion: object(['version', 'size', 'digest', 'edited_at', 'lease_holder'], versionFields),
      MessageVersionBody: object(['number', 'version', 'size', 'digest', 'edited_at', 'lease_holder', 'body'], {
        number: number('message'), ...versionFields, body: { type: 'string', description: 'That version\'s body.' },
      }),
      SearchHit: object(['number', 'body', 'version', 'created_at', 'updated_at'], {
        number: number('message'), body: { type: 'string' }, version,
        created_at: { type: ['string', 'null'], format: 'date-time' }, updated_at: { type: ['string', 'null'], format: 'date-time' },
      }),
      EditLease: object(['lease_token', 'expires_at'], {
        lease_token: { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$', description: 'Send it as Lease-Token to edit, delete, renew or release.' },
        expires_at: time('When the lease ends by itself (at most 1 s later)'),
      }),
      ...inputs,
      ApplicationInputApi: aliased(inputs.ApplicationInput, 'name', 'application_name'),
      ChatInputApi: aliased(inputs.ChatInput, 'name', 'chat_name'),
      ChatRenameApi: aliased(inputs.ChatRename, 'name', 'chat_name'),
      MessageInputApi: aliased(inputs.MessageInput, 'body', 'message_content'),
      LeaseInput: {
        type: 'object',
        properties: { ttl_seconds: { type: ['integer', 'null'], minimum: 1, maximum: 300, default: 60, description: 'Lease length.' } },
      },
    },
    parameters: {
      Token: { name: 'token', in: 'path', required: true, description: 'The application token.', schema: { type: 'string' } },
      ChatNumber: pathNumber('chat', 'chat'),
      MessageNumber: pathNumber('message', 'message'),
      Limit: { name: 'limit', in: 'query', required: false, description: 'Page size.', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
      After: { name: 'after', in: 'query', required: false, description: 'The last number of the previous page.', schema: { type: 'integer', minimum: 0 } },
      Cursor: { name: 'cursor', in: 'query', required: false, description: 'From the previous page\'s Link.', schema: { type: 'string' } },
      LeaseTokenRequired: {
        name: 'Lease-Token', in: 'header', required: true, description: 'The lease_token of the lease held.',
        schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$' },
      },
    },
    headers: {
      Location: { description: 'The path of the created resource, under the mount that was called.', required: true, schema: { type: 'string' } },
    },
    responses: {
      AdminUnauthorized: {
        description: 'No `Authorization: Bearer <ADMIN_TOKEN>`, a wrong one, or no ADMIN_TOKEN configured (then always).',
        headers: { 'WWW-Authenticate': { description: 'The bearer challenge of the administrator\'s calls.', required: true,
          schema: { type: 'string', pattern: '^Bearer ' } } },
        content: { 'application/json': { schema: object(['error'], { error: error('unauthorized') }) } },
      },
      CreatesRateLimited: {
        description: 'This client created more than RATE_LIMIT_APPLICATION_CREATES_BURST (30) applications, refilled at ' +
          'RATE_LIMIT_APPLICATION_CREATES_PER_MINUTE (10) a minute; Retry-After says when the next is allowed.',
        headers: { 'Retry-After': ref('headers', 'RetryAfter') },
        content: { 'application/json': { schema: object(['error'], { error: error('rate_limited') }) } },
      },
      ApplicationStale: stale('Application'),
      ChatStale: stale('Chat'),
      ChatMessageStale: stale('ChatMessage'),
      Locked: {
        description: 'Another editor holds the message\'s edit lease until `expires_at` (null if it just ended).',
        content: { 'application/json': { schema: object(['error', 'expires_at'], {
          error: error('locked'), expires_at: { type: ['string', 'null'], format: 'date-time' },
        }) } },
      },
    },
  };
}
