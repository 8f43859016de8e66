import { badRequest } from '../../errors.js';

/** A message id in a path: 1-16 digits and a safe integer (ids are below 2^53). */
export function isMessageId(input: string): boolean {
  return /^\d{1,16}$/.test(input) && Number.isSafeInteger(Number(input));
}

export function parseMessageId(input: string): number {
  if (!isMessageId(input)) throw badRequest('invalid_id', 'id must be a positive integer');
  return Number(input);
}
