import type { Context, Next } from 'koa';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';

const CODES: Record<number, string> = {
  400: 'bad_request', 404: 'not_found', 405: 'method_not_allowed', 413: 'payload_too_large',
  415: 'unsupported_media_type', 429: 'too_many_requests', 501: 'not_implemented', 503: 'unavailable',
};

/** The one place errors become responses: JSON `{error: {code, message}}`, never a stack or driver text. */
export function errorHandler(log: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new AppError(404, 'not_found', `no route for ${ctx.method} ${ctx.path}`);
      }
      if ((ctx.status === 405 || ctx.status === 501) && ctx.body === undefined) {
        const allow = ctx.response.get('allow');
        throw new AppError(ctx.status, CODES[ctx.status]!, `${ctx.method} is not allowed here; allowed: ${allow}`, { allow });
      }
    } catch (err) {
      const { status, code, message, headers, extra } = toResponse(err);
      if (status >= 500 && status !== 503) log.error({ err, reqId: ctx.state.reqId }, 'request failed');
      ctx.status = status;
      ctx.set(headers);
      ctx.body = { error: { code, message }, ...extra };
    }
  };
}

interface ErrorResponse {
  status: number; code: string; message: string; headers: Record<string, string>; extra?: Record<string, unknown>;
}

function toResponse(err: unknown): ErrorResponse {
  if (err instanceof AppError) {
    return { status: err.status, code: err.code, message: err.message, headers: err.headers, extra: err.extra };
  }
  if (err instanceof URIError) return { status: 400, code: 'bad_request', message: 'malformed percent-encoding in the URL', headers: {} };
  const e = err as { status?: number; expose?: boolean; message?: string; type?: string; headers?: Record<string, string> };
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    if (e.type === 'entity.parse.failed' || (e.status === 400 && /json/i.test(e.message ?? ''))) {
      return { status: 400, code: 'invalid_json', message: 'the body is not valid JSON (or not a JSON object)', headers: {} };
    }
    if (e.type === 'entity.too.large') {
      return { status: 413, code: 'payload_too_large', message: 'the body is larger than allowed', headers: {} };
    }
    return {
      status: e.status,
      code: CODES[e.status] ?? 'bad_request',
      message: e.expose && e.message ? e.message : 'bad request',
      headers: e.headers ?? {},
    };
  }
  return { status: 500, code: 'internal', message: 'internal error', headers: {} };
}
