import { z } from 'zod';
import { parseObject } from '../parse-object.js';
import { DEFAULT_LEASE_SECONDS, MAX_LEASE_SECONDS } from './lease-service.js';

export interface ChatLimits { maxNameLength: number; maxBodyBytes: number }

/** Domain rules for names and bodies; the limits are documented in docs/api.md (Chat applications). */
export function chatValidators(limits: ChatLimits) {
  const text = (field: string) => z.string({
    error: (i) => (i.input === undefined ? `${field} is required` : `${field} must be a string`),
  }).refine((s) => s.isWellFormed(), `${field} must be valid UTF-8 text`);
  const name = text('name')
    .refine((s) => s.trim().length > 0, 'name must not be empty')
    .refine((s) => [...s].length <= limits.maxNameLength, `name must be at most ${limits.maxNameLength} characters`);
  const body = text('body')
    .refine((s) => s.length > 0, 'body must not be empty')
    .refine((s) => Buffer.byteLength(s, 'utf8') <= limits.maxBodyBytes,
      `body must be at most ${limits.maxBodyBytes} bytes of UTF-8`);

  const application = z.object({ name });
  const chat = z.object({ name: name.nullable().optional() });
  const chatRename = z.object({ name: name.nullable() });
  const message = z.object({ body });
  // A form field arrives as text: digits are read as the number they spell.
  const ttl = z.preprocess((v) => (typeof v === 'string' && /^\d{1,6}$/.test(v) ? Number(v) : v),
    z.number({ error: 'ttl_seconds must be a whole number of seconds' }).int('ttl_seconds must be a whole number of seconds')
      .min(1, 'ttl_seconds must be at least 1').max(MAX_LEASE_SECONDS, `ttl_seconds must be at most ${MAX_LEASE_SECONDS}`));
  const lease = z.object({ ttl_seconds: ttl.nullable().optional() });

  return {
    application: (input: unknown): { name: string } => parseObject(application, input),
    newChat: (input: unknown): { name: string | null } => ({ name: parseObject(chat, input ?? {}).name ?? null }),
    chatRename: (input: unknown): { name: string | null } => parseObject(chatRename, input),
    message: (input: unknown): { body: string } => parseObject(message, input),
    /** A lease request; the body is optional (no body = the default length). */
    lease: (input: unknown): { ttlSeconds: number } =>
      ({ ttlSeconds: parseObject(lease, input ?? {}).ttl_seconds ?? DEFAULT_LEASE_SECONDS }),
  };
}

export type ChatValidators = ReturnType<typeof chatValidators>;
