import { z } from 'zod';
import { badRequest } from '../errors.js';
import type { NewMessage } from './message.js';
import { parseObject } from '../parse-object.js';

export const DEFAULT_TIMEOUT_SECONDS = 60;

/** The part of the configuration the inbox's validation uses (built by inboxValidationSettings in src/settings.ts). */
export interface InboxValidationSettings {
  /** MAX_USERNAME_LENGTH, in characters. */
  maxUsernameLength: number;
  /** MAX_TEXT_BYTES, of UTF-8. */
  maxTextBytes: number;
  /** MAX_TIMEOUT_SECONDS. */
  maxTimeoutSeconds: number;
}

function usernameSchema(maxLength: number) {
  return z.string({ error: (i) => (i.input === undefined ? 'username is required' : 'username must be a string') })
    .min(1, 'username must not be empty')
    .refine((s) => s.isWellFormed(), 'username must be valid UTF-8 text')
    .refine((s) => [...s].length <= maxLength, `username must be at most ${maxLength} characters`);
}

export function createValidators(settings: InboxValidationSettings) {
  const username = usernameSchema(settings.maxUsernameLength);
  const body = z.object({
    username,
    text: z.string({ error: (i) => (i.input === undefined ? 'text is required' : 'text must be a string') })
      .min(1, 'text must not be empty')
      .refine((s) => s.isWellFormed(), 'text must be valid UTF-8 text')
      .refine((s) => Buffer.byteLength(s, 'utf8') <= settings.maxTextBytes,
        `text must be at most ${settings.maxTextBytes} bytes of UTF-8`),
    timeout: z.number({ error: 'timeout must be an integer number of seconds' })
      .int('timeout must be an integer number of seconds')
      .min(0, 'timeout must not be negative')
      .max(settings.maxTimeoutSeconds, `timeout must be at most ${settings.maxTimeoutSeconds} seconds`)
      // null (JSON) and an empty form field mean "the default", like an absent timeout.
      .nullish().transform((t) => t ?? DEFAULT_TIMEOUT_SECONDS),
  });

  return {
    newMessage(input: unknown): NewMessage {
      return parseObject(body, input);
    },
    username(input: string): string {
      const result = username.safeParse(input);
      if (!result.success) throw badRequest('invalid_username', result.error.issues[0]!.message);
      return result.data;
    },
  };
}

export type Validators = ReturnType<typeof createValidators>;
