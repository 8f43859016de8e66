import type { Context } from 'koa';
import { badRequest, notFound } from '../../errors.js';
import { parseIdempotencyKey } from '../inbox/parsing.js';
import type { ApplicationView } from '../../chats/application-service.js';
import type { ChatView } from '../../chats/chat-service.js';
import type { ChatMessage } from '../../chats/types.js';

/** Request parsing (path, query, headers) and response shapes of /applications. No internal id is ever shaped. */
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

/** A token we could have issued (32 base64url characters); anything else cannot exist, so 404. */
export function token(input: string): string {
  if (!/^[A-Za-z0-9_-]{32}$/.test(input)) throw notFound('no application with this token');
  return input;
}

export function number(input: string, what: 'chat' | 'message'): number {
  if (!/^[1-9]\d{0,14}$/.test(input)) throw badRequest('invalid_number', `the ${what} number must be a positive integer`);
  return Number(input);
}

export function limit(query: Record<string, unknown>): number {
  const raw = query.limit;
  if (raw === undefined) return DEFAULT_LIMIT;
  if (typeof raw !== 'string' || !/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_LIMIT) {
    throw badRequest('invalid_limit', `limit must be an integer from 1 to ${MAX_LIMIT}`);
  }
  return Number(raw);
}

export function after(query: Record<string, unknown>): number {
  const raw = query.after;
  if (raw === undefined) return 0;
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw)) {
    throw badRequest('invalid_after', 'after must be a non-negative integer (the last number of the previous page)');
  }
  return Number(raw);
}

/** Opaque to clients: base64url of the last token of the previous page. */
export const encodeCursor = (lastToken: string): string => Buffer.from(`a1:${lastToken}`).toString('base64url');

export function cursor(query: Record<string, unknown>): string | null {
  const raw = query.cursor;
  if (raw === undefined) return null;
  const decoded = typeof raw === 'string' ? Buffer.from(raw, 'base64url').toString() : '';
  const m = /^a1:([A-Za-z0-9_-]{32})$/.exec(decoded);
  if (!m) throw badRequest('invalid_cursor', 'cursor must be the value of a previous page\'s next link');
  return m[1]!;
}

export function idempotencyKey(ctx: Context): string | undefined {
  const key = ctx.get('idempotency-key');
  return key ? parseIdempotencyKey(key) : undefined;
}

/** RFC 8288 next link, relative to the path that was asked (so both mounts link to themselves). */
export function setNextLink(ctx: Context, params: Record<string, string | number>): void {
  const qs = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
  ctx.set('link', `<${ctx.path}?${qs}>; rel="next"`);
}

export const applicationView = (a: ApplicationView) => ({
  token: a.token, name: a.name, version: a.version, chats_count: a.chatsCount,
  created_at: a.createdAt.toISOString(), updated_at: a.updatedAt.toISOString(),
});

export const chatView = (c: ChatView) => ({
  number: c.number, name: c.name, version: c.version, messages_count: c.messagesCount,
  created_at: c.createdAt.toISOString(), updated_at: c.updatedAt.toISOString(),
});

export const messageView = (m: ChatMessage) => ({
  number: m.number, body: m.body, version: m.version,
  created_at: m.createdAt.toISOString(), updated_at: m.updatedAt.toISOString(),
});
