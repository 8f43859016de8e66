import { badRequest } from '../../errors.js';

/** `Idempotency-Key`: 1-200 visible ASCII characters (what RFC 9110 header values allow without quoting). */
export function parseIdempotencyKey(input: string): string {
  if (!/^[\x21-\x7e]{1,200}$/.test(input)) {
    throw badRequest('invalid_idempotency_key', 'Idempotency-Key must be 1-200 visible ASCII characters');
  }
  return input;
}

/** A message id in a path: 1-16 digits and a safe integer (ids are below 2^53). */
export function isMessageId(input: string): boolean {
  return /^\d{1,16}$/.test(input) && Number.isSafeInteger(Number(input));
}

export function parseMessageId(input: string): number {
  if (!isMessageId(input)) throw badRequest('invalid_id', 'id must be a positive integer');
  return Number(input);
}
