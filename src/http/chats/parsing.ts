import type { Context } from 'koa';
import { badRequest, notFound } from '../../errors.js';

/** Request parsing (path, query) of /applications; the response shapes are views.ts. */
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

/** A message's path parameters (`:token/chats/:number/messages/:message`), parsed. */
export const messagePath = (ctx: Context) => ({
  token: token(ctx.params.token!),
  chat: number(ctx.params.number!, 'chat'),
  message: number(ctx.params.message!, 'message'),
});

/** A message version in a path (`.../versions/:version`). */
export function version(input: string): number {
  if (!/^[1-9]\d{0,9}$/.test(input)) throw badRequest('invalid_version', 'the version must be a positive integer');
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

/** `?before=`: a version number (the `next` of the previous page of a history); null when absent. */
export function before(query: Record<string, unknown>): number | null {
  const raw = query.before;
  if (raw === undefined) return null;
  if (typeof raw !== 'string' || !/^[1-9]\d{0,9}$/.test(raw)) {
    throw badRequest('invalid_before', 'before must be a positive integer (a version of the previous page)');
  }
  return Number(raw);
}

/** Opaque to clients: base64url of the last token of the previous page (read back by `cursor`). */
export const encodeCursor = (lastToken: string): string => Buffer.from(`a1:${lastToken}`).toString('base64url');

export function cursor(query: Record<string, unknown>): string | null {
  const raw = query.cursor;
  if (raw === undefined) return null;
  const decoded = typeof raw === 'string' ? Buffer.from(raw, 'base64url').toString() : '';
  const m = /^a1:([A-Za-z0-9_-]{32})$/.exec(decoded);
  if (!m) throw badRequest('invalid_cursor', 'cursor must be the value of a previous page\'s next link');
  return m[1]!;
}
