import type { Context } from 'koa';
import { jwtVerify } from 'jose';
import { AppError } from '../errors.js';
import type { Config } from '../config.js';

/**
 * Optional bearer-token mode (AUTH_MODE=jwt, off by default so the public contract stays as specified):
 * reading a user's list needs an HS256 token whose subject is that username.
 */
export function listAuthorizer(config: Config): (ctx: Context, username: string) => Promise<void> {
  if (config.AUTH_MODE !== 'jwt') return async () => {};
  const key = new TextEncoder().encode(config.AUTH_JWT_SECRET);
  return async (ctx, username) => {
    const match = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(ctx.get('authorization'));
    if (!match) {
      throw new AppError(401, 'unauthorized', 'a bearer token is required', { 'www-authenticate': 'Bearer' });
    }
    let subject: string | undefined;
    try {
      const { payload } = await jwtVerify(match[1]!, key, {
        algorithms: ['HS256'], issuer: config.AUTH_JWT_ISSUER, audience: config.AUTH_JWT_AUDIENCE,
      });
      subject = payload.sub;
    } catch {
      throw new AppError(401, 'unauthorized', 'the bearer token is invalid or expired',
        { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    if (subject !== username) throw new AppError(403, 'forbidden', 'this token may only read its own messages');
  };
}
