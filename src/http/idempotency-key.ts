import type { Context } from 'koa';
import { badRequest } from '../errors.js';

/** `Idempotency-Key`: 1-200 visible ASCII characters (what RFC 9110 header values allow without quoting). */
export function parseIdempotencyKey(input: string): string {
  if (!/^[\x21-\x7e]{1,200}$/.test(input)) {
    throw badRequest('invalid_idempotency_key', 'Idempotency-Key must be 1-200 visible ASCII characters');
  }
  return input;
}

/** The request's Idempotency-Key, parsed; undefined when it has none (an empty header is none). Both products. */
export function idempotencyKey(ctx: Context): string | undefined {
  const key = ctx.get('idempotency-key');
  return key ? parseIdempotencyKey(key) : undefined;
}
