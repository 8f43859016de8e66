import type { Context, Next } from 'koa';
import { TextDecoder } from 'node:util';
import { badRequest, payloadTooLarge, unsupportedMediaType } from '../errors.js';
import { readBytes } from './body-bytes.js';

/**
 * The one lenient request-body reader (POST /chat and the chat-applications routes use it).
 *
 * Callers' tools send whatever they send: curl -d says application/x-www-form-urlencoded, Python requests with a
 * string body says nothing, fetch with a string says text/plain. So the body is read by what it is, not by what
 * the header claims:
 * - a body that parses as a JSON object (or array) is JSON, whatever the Content-Type;
 * - otherwise, an application/x-www-form-urlencoded body is form fields (an empty field is an absent one);
 * - otherwise 400 invalid_json for the types a JSON client sends (none, text/plain, application/json, *+json),
 *   and 415 for anything else;
 * - XML and multipart are refused (415) without reading: the service cannot read them.
 * Limits stay: over `limit` bytes (after decompression) is 413.
 */
export interface BodyOptions {
  /** Largest body, in bytes, after content decoding. */
  limit: number;
  /** Form fields holding numbers: "60" becomes 60 (anything not a number stays a string for the validator to refuse). */
  numericFields?: readonly string[];
}

const JSON_LIKE = new Set(['', 'application/json', 'text/plain']);
const FORM = 'application/x-www-form-urlencoded';
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

export const isRefusedType = (type: string) =>
  type.startsWith('multipart/') || type === 'application/xml' || type === 'text/xml' || type.endsWith('+xml');
const isJsonLike = (type: string) => JSON_LIKE.has(type) || type.endsWith('+json');

/** Reads and interprets the request body; see above for the rules. */
export async function readBody(ctx: Context, opts: BodyOptions): Promise<unknown> {
  const type = ctx.request.type; // media type, lower case, without parameters; '' when absent
  if (isRefusedType(type)) {
    throw unsupportedMediaType(
      `${type} bodies are not read: send a JSON object or form fields (application/x-www-form-urlencoded)`);
  }
  const declared = Number(ctx.get('content-length'));
  if (Number.isFinite(declared) && declared > opts.limit) throw payloadTooLarge(opts.limit);
  const bytes = await readBytes(ctx.req, ctx.get('content-encoding'), opts.limit, payloadTooLarge);
  const text = decode(bytes, ctx.request.charset || 'utf-8', type);
  if (text.trim() === '' && (isJsonLike(type) || type === FORM)) return {};

  const json = parseJson(text);
  if (json.ok) {
    if (typeof json.value !== 'object' || json.value === null) {
      throw badRequest('invalid_json', 'the body must be a JSON object');
    }
    return json.value;
  }
  if (type === FORM) return parseForm(text, opts.numericFields ?? []);
  if (isJsonLike(type)) throw badRequest('invalid_json', 'the body is not valid JSON (or not a JSON object)');
  throw unsupportedMediaType(
    `a ${type} body is read only when it is JSON: send a JSON object or form fields`);
}

/** Middleware form: the interpreted body lands in ctx.request.body, as koa-bodyparser would put it. */
export function lenientBody(opts: BodyOptions) {
  return async function readLenientBody(ctx: Context, next: Next): Promise<void> {
    (ctx.request as { body?: unknown }).body = await readBody(ctx, opts);
    await next();
  };
}

function decode(bytes: Buffer, charset: string, type: string): string {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset, { fatal: true, ignoreBOM: false });
  } catch {
    throw unsupportedMediaType(`the charset ${JSON.stringify(charset)} is not supported`);
  }
  try {
    return decoder.decode(bytes);
  } catch {
    if (isJsonLike(type) || type === FORM) throw badRequest('invalid_json', `the body is not valid ${charset} text`);
    throw unsupportedMediaType(`a ${type} body is read only when it is JSON text`);
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function parseForm(text: string, numericFields: readonly string[]): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(text)) {
    if (seen.has(name)) throw badRequest('invalid_body', `the form field ${JSON.stringify(name)} is given more than once`);
    seen.add(name);
    if (value === '') continue; // an empty field means "use the default"
    fields[name] = numericFields.includes(name) && JSON_NUMBER.test(value) ? Number(value) : value;
  }
  return fields;
}

declare module 'koa' {
  interface Request {
    /** The interpreted body, set by `lenientBody` (a JSON value or a record of form fields). */
    body?: unknown;
  }
}
