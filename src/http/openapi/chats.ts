import { commonErrors, errorResponse, jsonResponse, ref, type Json, type PathModule } from './components.js';
import { chatsComponents, type ChatsLimits } from './chats-components.js';

/**
 * The routes are mounted twice; the second mount's operation ids carry this suffix, and it takes the Rails/Go chat
 * system's field names too (its request bodies are the `…Api` schemas; src/http/field-aliases.ts).
 */
export const MOUNTS = [{ prefix: '/applications', suffix: '' }, { prefix: '/api/applications', suffix: 'Api' }];

const TAG = 'chat applications';
const etag = { ETag: ref('headers', 'ETag') };
const created = { Location: ref('headers', 'Location'), ETag: ref('headers', 'ETag') };
const paged = { Link: ref('headers', 'Link') };
const body = (schema: string, required = true): Json => ({
  required,
  content: {
    'application/json': { schema: ref('schemas', schema) },
    'application/x-www-form-urlencoded': { schema: ref('schemas', schema) },
  },
});
const bad = (codes: string[]) => errorResponse('A malformed request or a bad field; nothing is changed.',
  ['bad_request', ...codes]);
const BODY_FORMAT_ERRORS = ['invalid_json', 'invalid_body'];
const bodyErrors = (): Json => ({
  413: errorResponse('The body is larger than MAX_BODY_BYTES (after decompression).', ['payload_too_large']),
  415: errorResponse('A body the service cannot read (XML, multipart, an unknown charset or encoding).',
    ['unsupported_media_type']),
});
const errors = (notFound: string): Json => ({
  404: errorResponse(notFound, ['not_found']),
  503: ref('responses', 'Unavailable'),
  ...commonErrors(),
});
/** The answers of a change guarded by If-Match (and, for messages, the edit lease). */
const guarded = (current: string, leased: boolean): Json => ({
  409: leased
    ? errorResponse('Changed concurrently too often in a row (retry), or the Lease-Token sent names a lease that ' +
      'lapsed or was released (take a new one; nothing was changed).', ['conflict', 'lease_expired'])
    : errorResponse('Changed concurrently too often in a row; retry.', ['conflict']),
  412: ref('responses', `${current}Stale`),
  ...(leased ? { 423: ref('responses', 'Locked') } : {}),
  428: errorResponse('REQUIRE_IF_MATCH=true and no If-Match was sent.', ['precondition_required']),
});
const op = (id: string, summary: string, description: string, rest: Json): Json =>
  ({ operationId: id, tags: [TAG], summary, description, ...rest });

/** Every /applications route, under both mounts (docs/api.md, "Chat applications" and "Editing"). */
export function chatsPaths(limits: ChatsLimits): PathModule {
  const paths: Record<string, Json> = {};
  for (const { prefix, suffix } of MOUNTS) {
    const id = (name: string) => `${name}${suffix}`;
    // The inputs with alias names, and the 400 a body sending both names with different values gets.
    const input = (schema: string, required = true) => body(`${schema}${suffix}`, required);
    const BODY_ERRORS = suffix ? [...BODY_FORMAT_ERRORS, 'conflicting_fields'] : BODY_FORMAT_ERRORS;
    const app = `${prefix}/{token}`;
    const chat = `${app}/chats/{chat}`;
    const message = `${chat}/messages/{message}`;
    const renameApp = (method: string) => op(id(`${method}Application`), 'Rename an application',
      'Compare-and-set on its version: with If-Match, applied only on that version (else 412 with the current one).', {
        parameters: [ref('parameters', 'Token'), ref('parameters', 'IfMatch')],
        requestBody: input('ApplicationInput'),
        responses: { 200: jsonResponse('Renamed.', ref('schemas', 'Application'), etag),
          400: bad([...BODY_ERRORS, 'invalid_name', 'invalid_if_match']), ...bodyErrors(), ...guarded('Application', false),
          ...errors('No application with this token.') },
      });
    const renameChat = (method: string) => op(id(`${method}Chat`), 'Rename a chat', 'name null clears it; If-Match as for applications.', {
      parameters: [ref('parameters', 'Token'), ref('parameters', 'ChatNumber'), ref('parameters', 'IfMatch')],
      requestBody: input('ChatRename'),
      responses: { 200: jsonResponse('Renamed.', ref('schemas', 'Chat'), etag),
        400: bad([...BODY_ERRORS, 'invalid_name', 'invalid_number', 'invalid_if_match']), ...bodyErrors(),
        ...guarded('Chat', false), ...errors('No such application or chat.') },
    });
    const edit = (method: string) => op(id(`${method}ChatMessage`), 'Edit a message',
      'With If-Match: applied only on that version (else 412 with the current message). Without: applied on the ' +
      'current version unless someone else holds the edit lease (423); REQUIRE_IF_MATCH=true makes it 428.', {
        parameters: [...messageParams(), ref('parameters', 'IfMatch'), ref('parameters', 'LeaseTokenParam')],
        requestBody: input('MessageInput'),
        responses: { 200: jsonResponse('Edited: version + 1.', ref('schemas', 'ChatMessage'), etag),
          400: bad([...BODY_ERRORS, 'invalid_number', 'invalid_if_match', 'invalid_lease_token']), ...bodyErrors(),
          ...guarded('ChatMessage', true), ...errors('No such application, chat or message (or it was deleted).') },
      });
    const lease = (method: 'post' | 'put') => op(id(method === 'post' ? 'takeEditLease' : 'renewEditLease'),
      method === 'post' ? 'Take the edit lease of a message' : 'Renew an edit lease',
      `One editor at a time, for ttl_seconds (default 60, at most 300); it ends by itself at expires_at.` +
      (method === 'put' ? ' Only with the Lease-Token of the lease held; a lapsed lease is 409 lease_expired.' : ''), {
        parameters: [...messageParams(), ...(method === 'put' ? [ref('parameters', 'LeaseTokenRequired')] : [])],
        requestBody: body('LeaseInput', false),
        responses: {
          [method === 'post' ? 201 : 200]: jsonResponse(method === 'post' ? 'Granted.' : 'Renewed.', ref('schemas', 'EditLease')),
          400: bad([...BODY_FORMAT_ERRORS, 'invalid_number', 'invalid_ttl_seconds', 'invalid_lease_token']), ...bodyErrors(),
          409: errorResponse('The lease changed hands concurrently, or (renew) it has lapsed.', ['conflict', 'lease_expired']),
          423: ref('responses', 'Locked'),
          ...errors('No such application, chat or message (or it was deleted).'),
        },
      });

    paths[prefix] = {
      post: op(id('createApplication'), 'Create an application', 'The service generates its token (32 characters). ' +
        'Rate-limited per client (RATE_LIMIT_APPLICATION_CREATES_*: 30 at once, then 10 a minute, by default).', {
        requestBody: input('ApplicationInput'),
        responses: { 201: jsonResponse('Created.', ref('schemas', 'Application'), created),
          400: bad([...BODY_ERRORS, 'invalid_name']), ...bodyErrors(), ...errors('Never: listed for the contract.'),
          429: ref('responses', 'CreatesRateLimited') },
      }),
      get: op(id('listApplications'), 'List every application (administrator)', 'Every application with its token, so ' +
        'an administrator\'s call: `Authorization: Bearer <ADMIN_TOKEN>`, else 401 (always 401 when no ADMIN_TOKEN is ' +
        'configured). Paged by an opaque cursor; the next page is in Link.', {
        security: [{ admin: [] }],
        parameters: [ref('parameters', 'Limit'), ref('parameters', 'Cursor')],
        responses: { 200: jsonResponse('A page of applications.', { type: 'array', items: ref('schemas', 'Application') }, paged),
          400: bad(['invalid_limit', 'invalid_cursor']), 401: ref('responses', 'AdminUnauthorized'),
          503: ref('responses', 'Unavailable'), ...commonErrors() },
      }),
    };
    paths[app] = {
      get: op(id('getApplication'), 'Read an application', 'With its chats_count (derived, follows writes by seconds).', {
        parameters: [ref('parameters', 'Token')],
        responses: { 200: jsonResponse('The application.', ref('schemas', 'Application'), etag), 400: bad([]),
          ...errors('No application with this token.') },
      }),
      put: renameApp('put'),
      patch: renameApp('patch'),
    };
    paths[`${app}/chats`] = {
      post: op(id('createChat'), 'Create a chat', 'Numbered from 1 per application. The body is optional.', {
        parameters: [ref('parameters', 'Token'), ref('parameters', 'IdempotencyKey')],
        requestBody: input('ChatInput', false),
        responses: { 201: jsonResponse('Created.', ref('schemas', 'Chat'),
          { ...created, 'Idempotent-Replayed': ref('headers', 'IdempotentReplayed') }),
        400: bad([...BODY_ERRORS, 'invalid_name', 'invalid_idempotency_key']), ...bodyErrors(),
        422: errorResponse('This Idempotency-Key was used with another body.', ['idempotency_key_reused']),
        ...errors('No application with this token.') },
      }),
      get: op(id('listChats'), 'List chats', 'By number ascending, after= the last number of the previous page.', {
        parameters: [ref('parameters', 'Token'), ref('parameters', 'Limit'), ref('parameters', 'After')],
        responses: { 200: jsonResponse('A page of chats.', { type: 'array', items: ref('schemas', 'Chat') }, paged),
          400: bad(['invalid_limit', 'invalid_after']), ...errors('No application with this token.') },
      }),
    };
    paths[chat] = {
      get: op(id('getChat'), 'Read a chat', 'With its messages_count (derived, follows writes by seconds).', {
        parameters: [ref('parameters', 'Token'), ref('parameters', 'ChatNumber')],
        responses: { 200: jsonResponse('The chat.', ref('schemas', 'Chat'), etag), 400: bad(['invalid_number']),
          ...errors('No such application or chat.') },
      }),
      put: renameChat('put'),
      patch: renameChat('patch'),
    };
    paths[`${chat}/messages`] = {
      post: op(id('createChatMessage'), 'Post a message', 'Numbered from 1 per chat; version 1.', {
        parameters: [ref('parameters', 'Token'), ref('parameters', 'ChatNumber'), ref('parameters', 'IdempotencyKey')],
        requestBody: input('MessageInput'),
        responses: { 201: jsonResponse('Created.', ref('schemas', 'ChatMessage'),
          { ...created, 'Idempotent-Replayed': ref('headers', 'IdempotentReplayed') }),
        400: bad([...BODY_ERRORS, 'invalid_number', 'invalid_idempotency_key']), ...bodyErrors(),
        422: errorResponse('This Idempotency-Key was used with another body.', ['idempotency_key_reused']),
        ...errors('No such application or chat (or the message this key created was deleted).') },
      }),
      get: op(id('listChatMessages'), 'List messages', 'By number ascending; deleted messages are skipped.', {
        parameters: [ref('parameters', 'Token'), ref('parameters', 'ChatNumber'), ref('parameters', 'Limit'), ref('parameters', 'After')],
        responses: { 200: jsonResponse('A page of messages.', { type: 'array', items: ref('schemas', 'ChatMessage') }, paged),
          400: bad(['invalid_limit', 'invalid_after', 'invalid_number']), ...errors('No such application or chat.') },
      }),
    };
    const search = (name: string) => op(id(name), 'Search a chat\'s messages',
      'Messages whose body contains q (case-insensitive, Unicode folding), by number ascending, fed from the change ' +
      'log by the search indexer (follows creates, edits and deletes by seconds). 503 search_unavailable when ' +
      'OpenSearch is down.', {
        parameters: [ref('parameters', 'Token'), ref('parameters', 'ChatNumber'),
          { name: 'q', in: 'query', required: !suffix, schema: { type: 'string' },
            description: suffix ? 'The substring (or send it as search_query).' : 'The substring.' },
          ...(suffix ? [{ name: 'search_query', in: 'query', required: false, schema: { type: 'string' },
            description: 'The Rails/Go chat system\'s name of q; both with different values: 400 conflicting_fields.' }] : []),
          ref('parameters', 'Limit'), ref('parameters', 'After')],
        responses: { 200: jsonResponse('A page of matches.', { type: 'array', items: ref('schemas', 'SearchHit') }, paged),
          400: bad(['invalid_query', 'invalid_limit', 'invalid_after', 'invalid_number',
            ...(suffix ? ['conflicting_fields'] : [])]),
          404: errorResponse('No such application or chat.', ['not_found']),
          503: errorResponse('Storage or OpenSearch is unavailable; retry.', ['unavailable', 'search_unavailable'],
            { 'Retry-After': ref('headers', 'RetryAfter') }),
          ...commonErrors() },
      });
    // Before the {message} template, which /messages/search would otherwise also match.
    paths[`${chat}/messages/search`] = { get: search('searchChatMessages') };
    paths[`${chat}/search`] = { get: search('searchChat') };
    paths[message] = {
      get: op(id('getChatMessage'), 'Read a message', 'One row read.', {
        parameters: messageParams(),
        responses: { 200: jsonResponse('The message.', ref('schemas', 'ChatMessage'), etag), 400: bad(['invalid_number']),
          ...errors('No such application, chat or message (or it was deleted).') },
      }),
      put: edit('put'),
      patch: edit('patch'),
      delete: op(id('deleteChatMessage'), 'Delete a message',
        'Reads and writes that message only. Afterwards it is 404, its number is never reused, and counts and ' +
        'search follow. If-Match and the edit lease apply as for an edit.', {
          parameters: [...messageParams(), ref('parameters', 'IfMatch'), ref('parameters', 'LeaseTokenParam')],
          responses: { 204: { description: 'Deleted.' },
            400: bad(['invalid_number', 'invalid_if_match', 'invalid_lease_token']), ...guarded('ChatMessage', true),
            ...errors('No such application, chat or message (or it was deleted already).') },
        }),
    };
    const versionErrors = errors('No such application, chat or message (or it was deleted), or no such retained version.');
    paths[`${message}/versions`] = {
      get: op(id('listMessageVersions'), 'List a message\'s versions',
        'The retained versions (CHAT_HISTORY_MAX_VERSIONS, and CHAT_HISTORY_MAX_AGE_SECONDS except the current one), ' +
        'newest first: version, size, SHA-256 digest, when it was written and who held the edit lease. The next page ' +
        'is the Link rel=next (?before=<version>).', {
          parameters: [...messageParams(), ref('parameters', 'Limit'),
            { name: 'before', in: 'query', required: false, description: 'Only versions below this one.',
              schema: { type: 'integer', minimum: 1 } }],
          responses: { 200: jsonResponse('A page of versions.', { type: 'array', items: ref('schemas', 'MessageVersion') }, paged),
            400: bad(['invalid_number', 'invalid_limit', 'invalid_before']), ...versionErrors },
        }),
    };
    paths[`${message}/versions/{version}`] = {
      get: op(id('getMessageVersion'), 'Read one version of a message',
        'That version\'s body from its immutable object, checked against its digest (503 while the body store is ' +
        'unavailable; 404 for an old version with CHAT_BODY_STORE=cassandra, which keeps only the current body).', {
          parameters: [...messageParams(), { name: 'version', in: 'path', required: true, description: 'A version number.',
            schema: { type: 'integer', minimum: 1 } }],
          responses: { 200: jsonResponse('The version and its body.', ref('schemas', 'MessageVersionBody')),
            400: bad(['invalid_number', 'invalid_version']), ...versionErrors },
        }),
    };
    paths[`${message}/lease`] = {
      post: lease('post'),
      put: lease('put'),
      delete: op(id('releaseEditLease'), 'Release an edit lease', 'Frees the message at once; releasing a lapsed lease is 204.', {
        parameters: [...messageParams(), ref('parameters', 'LeaseTokenRequired')],
        responses: { 204: { description: 'Released (or already lapsed).' },
          400: bad(['invalid_number', 'invalid_lease_token']), 423: ref('responses', 'Locked'),
          ...errors('No such application, chat or message (or it was deleted).') },
      }),
    };
  }
  return {
    tags: [{ name: TAG, description: 'Applications, their numbered chats and messages; versions, If-Match, edit leases. ' +
      'Mounted identically at /applications and /api/applications.' }],
    components: chatsComponents(limits),
    paths,
  };
}

const messageParams = () => [ref('parameters', 'Token'), ref('parameters', 'ChatNumber'), ref('parameters', 'MessageNumber')];
