
/** OpenAPI 3.1 objects are plain JSON; a loose type keeps each path module short. */
export type Json = { [key: string]: unknown };

export type ComponentKind = 'schemas' | 'parameters' | 'headers' | 'responses';
export type Components = Record<ComponentKind, Record<string, Json>>;

/** What a path module contributes; document.ts merges modules (inbox, health, docs, applications). */
export interface PathModule {
  tags: Array<{ name: string; description: string }>;
  paths: Record<string, Json>;
  /** Extra components (schemas, parameters, headers, responses) the module's paths refer to. */
  components?: Partial<Components>;
}

/** The inbox's limits the document states (MAX_USERNAME_LENGTH, MAX_TEXT_BYTES, MAX_TIMEOUT_SECONDS, MAX_BODY_BYTES). */
export interface Limits { maxUsernameLength: number; maxTextBytes: number; maxTimeoutSeconds: number; maxBodyBytes: number }

export const ref = (kind: ComponentKind, name: string) =>
  ({ $ref: `#/components/${kind}/${name}` });

/** A JSON response with the given body schema (and optional headers). */
export const jsonResponse = (description: string, schema: Json, headers?: Json): Json => ({
  description, ...(headers ? { headers } : {}), content: { 'application/json': { schema } },
});

/** An error response whose `error.code` is one of `codes`. */
export const errorResponse = (description: string, codes: string[], headers?: Json): Json =>
  jsonResponse(description, {
    allOf: [ref('schemas', 'Error'), { properties: { error: { properties: { code: { enum: codes } } } } }],
  }, headers);

/** Shared pieces. The header and parameter entries marked "chat applications" are used by chats.ts. */
export function sharedComponents(limits: Limits): Components {
  return {
    schemas: {
      Error: {
        type: 'object', required: ['error'], additionalProperties: false,
        description: 'Every error answer. `code` is stable and machine-readable; `message` is for people.',
        properties: {
          error: {
            type: 'object', required: ['code', 'message'], additionalProperties: false,
            properties: {
              code: { type: 'string', pattern: '^[a-z_]+$', examples: ['invalid_timeout'] },
              message: { type: 'string', examples: ['timeout must not be negative'] },
            },
          },
        },
      },
      MessageId: {
        type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER,
        description: '53-bit, roughly time-ordered (exact in JSON and JavaScript).', examples: [1234567890123],
      },
      Username: {
        type: 'string', minLength: 1, maxLength: limits.maxUsernameLength,
        description: `Any UTF-8 text, 1..${limits.maxUsernameLength} characters.`, examples: ['paulrad'],
      },
      Text: {
        type: 'string', minLength: 1,
        description: `Any UTF-8 text, 1..${limits.maxTextBytes} bytes.`, examples: ['hi'],
      },
    },
    parameters: {
      IdempotencyKey: {
        name: 'Idempotency-Key', in: 'header', required: false,
        description: 'A retry with the same key and body returns the first id; the same key with another body is 422.',
        schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,200}$' },
      },
      // chat applications (chats.ts)
      IfMatch: {
        name: 'If-Match', in: 'header', required: false,
        description: 'Chat applications (RFC 9110): the ETag the change is based on, `*`, or a list; a stale one is 412. ' +
          'Weak tags never match. Required (else 428) when REQUIRE_IF_MATCH=true.',
        schema: { type: 'string', examples: ['"3"'] },
      },
      LeaseTokenParam: {
        name: 'Lease-Token', in: 'header', required: false,
        description: 'Chat applications: the lease_token of the edit lease the caller holds (423 without it while one is held).',
        schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$' },
      },
    },
    headers: {
      RetryAfter: { description: 'Seconds to wait before retrying.', required: true, schema: { type: 'string', pattern: '^\\d+$' } },
      IdempotentReplayed: { description: 'Present when the answer replays an earlier create with the same Idempotency-Key.', schema: { const: 'true' } },
      RequestId: { description: 'The request id (the caller\'s X-Request-Id if well-formed, else a new UUID).', required: true, schema: { type: 'string' } },
      WwwAuthenticate: { description: 'The bearer challenge (AUTH_MODE=jwt).', required: true, schema: { type: 'string' } },
      // chat applications (chats.ts)
      ETag: {
        description: 'Chat applications: the version of the resource as a strong entity-tag, for If-Match.',
        required: true, schema: { type: 'string', pattern: '^"[1-9][0-9]*"$' },
      },
      Link: { description: 'Chat applications: the next page (RFC 8288), rel="next"; only when there may be one.', schema: { type: 'string' } },
    },
    responses: {
      TooManyRequests: errorResponse('A rate limit was hit (RATE_LIMIT_CLIENT_RPS / RATE_LIMIT_USERNAME_RPS, opt-in; ' +
        'POST /applications: RATE_LIMIT_APPLICATION_CREATES_*, on by default).',
        ['rate_limited'], { 'Retry-After': ref('headers', 'RetryAfter') }),
      Unavailable: errorResponse('Storage is unavailable or a write could not be confirmed in time; retry.',
        ['unavailable'], { 'Retry-After': ref('headers', 'RetryAfter') }),
      Internal: errorResponse('An unexpected failure; no stack trace or driver message is ever sent.', ['internal']),
      Unauthorized: errorResponse('AUTH_MODE=jwt: no bearer token, or an invalid or expired one.',
        ['unauthorized'], { 'WWW-Authenticate': ref('headers', 'WwwAuthenticate') }),
      Forbidden: errorResponse('AUTH_MODE=jwt: the token\'s subject is another user.', ['forbidden']),
    },
  };
}

/** Errors any routed request may answer with (the client rate limit runs before routing). */
export const commonErrors = (): Json => ({
  429: ref('responses', 'TooManyRequests'),
  500: ref('responses', 'Internal'),
});
