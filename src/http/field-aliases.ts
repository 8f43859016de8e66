import { isDeepStrictEqual } from 'node:util';
import type { Context, Middleware, Next } from 'koa';
import { badRequest } from '../errors.js';

/**
 * The field names of the Rails/Go implementation of the same chat system, accepted on the /api/applications mount
 * so its clients switch without changes (docs/api.md, "Chat applications"). The one table of them: which body (or query)
 * field each alias stands for, per kind of request. Answers keep this API's names.
 */
const BODY_ALIASES = {
  application: { application_name: 'name' },
  chat: { chat_name: 'name' },
  message: { message_content: 'body' },
} as const satisfies Record<string, Record<string, string>>;
const QUERY_ALIASES = { search: { search_query: 'q' } } as const;

export type BodyKind = keyof typeof BODY_ALIASES;

const conflict = (alias: string, field: string) => badRequest('conflicting_fields',
  `${alias} and ${field} name the same field and were sent with different values: send one of them`);

/** `fields` with each alias moved to its field; both present with different values is 400 conflicting_fields. */
function resolve(fields: Record<string, unknown>, aliases: Record<string, string>): Record<string, unknown> {
  const out = { ...fields };
  for (const [alias, field] of Object.entries(aliases)) {
    if (!(alias in out)) continue;
    const value = out[alias];
    delete out[alias];
    if (field in out && !isDeepStrictEqual(out[field], value)) throw conflict(alias, field);
    out[field] = value;
  }
  return out;
}

/** After the body reader: a JSON object or form fields with aliases resolved; anything else is left to the validator. */
export function bodyAliases(kind: BodyKind): Middleware {
  return async function resolveBodyAliases(ctx: Context, next: Next): Promise<void> {
    const body: unknown = ctx.request.body;
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      (ctx.request as { body?: unknown }).body = resolve(body as Record<string, unknown>, BODY_ALIASES[kind]);
    }
    await next();
  };
}

/** The search text: `q`, or (aliases on) `search_query`; a repeated parameter counts by its first value. */
export function searchQuery(ctx: Context, aliases: boolean): unknown {
  const first = (name: string) => [ctx.query[name]].flat()[0];
  const fields: Record<string, unknown> = {};
  for (const name of ['q', ...(aliases ? Object.keys(QUERY_ALIASES.search) : [])]) {
    if (first(name) !== undefined) fields[name] = first(name);
  }
  return resolve(fields, aliases ? QUERY_ALIASES.search : {}).q;
}
