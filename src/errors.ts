/** The one error type the HTTP layer understands: it carries the status and a stable code. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** Fields sent next to `error` in the body (e.g. `current` of a 412, `expires_at` of a 423). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (code: string, message: string) => new AppError(400, code, message);
export const notFound = (message: string) => new AppError(404, 'not_found', message);
/** 409: a conditional write kept losing to concurrent ones; `what` says to what (the message ends "concurrently; retry"). */
export const conflict = (what: string) => new AppError(409, 'conflict', `${what} concurrently; retry`);
/** 422: an Idempotency-Key seen before with another body (both products). */
export const idempotencyKeyReused = () =>
  new AppError(422, 'idempotency_key_reused', 'this Idempotency-Key was used with a different request body');
/** 413: a body over `limit` bytes (the JSON reader and the raw-body upload). */
export const payloadTooLarge = (limit: number, headers: Record<string, string> = {}) =>
  new AppError(413, 'payload_too_large', `the body is larger than ${limit} bytes`, headers);
/** 415: a body of a type, charset or encoding that route does not read. */
export const unsupportedMediaType = (message: string) => new AppError(415, 'unsupported_media_type', message);
export const unavailable = (message = 'storage is unavailable, retry later') =>
  new AppError(503, 'unavailable', message, { 'retry-after': '1' });
