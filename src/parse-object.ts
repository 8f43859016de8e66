import type { z } from 'zod';
import { badRequest } from './errors.js';

/**
 * A request body through its schema, for both products: not an object → 400 `invalid_body`; otherwise the first
 * issue names the field it is about → 400 `invalid_<field>` with the schema's message (a client fixes one field
 * at a time, and the code says which).
 */
export function parseObject<T>(schema: z.ZodType<T>, input: unknown): T {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw badRequest('invalid_body', 'the body must be a JSON object');
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw badRequest(`invalid_${String(issue.path[0] ?? 'body')}`, issue.message);
  }
  return result.data;
}
