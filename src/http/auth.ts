import type { Context } from 'koa';
import { jwtVerify } from 'jose';
import { AppError } from '../errors.js';

/** The part of the configuration the list's authorization uses (built by listAuthSettings in src/settings.ts). */
export interface ListAuthSettings {
  /** AUTH_MODE. */
  mode: 'none' | 'jwt';
  /** AUTH_JWT_SECRET (required with jwt), AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE (checked when set). */
  secret?: string;
  issuer?: string;
  audience?: string;
}

/** Rules on reading `username`'s list: resolves, or throws 401/403. */
export type ListAuthorizer = (ctx: Context, username: string) => Promise<void>;

/**
 * Optional bearer-token mode (AUTH_MODE=jwt, off by default so the public contract stays as specified):
 * reading a user's list needs an HS256 token whose subject is that username.
 */
export function listAuthorizer(settings: ListAuthSettings): ListAuthorizer {
  if (settings.mode !== 'jwt') return async () => {};
  const key = new TextEncoder().encode(settings.secret);
  return async (ctx, username) => {
    const match = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(ctx.get('authorization'));
    if (!match) {
      throw new AppError(401, 'unauthorized', 'a bearer token is required', { 'www-authenticate': 'Bearer' });
    }
    let subject: string | undefined;
    try {
      const { payload } = await jwtVerify(match[1]!, key, {
        algorithms: ['HS256'], issuer: settings.issuer, audience: settings.audience,
      });
      subject = payload.sub;
    } catch {
      throw new AppError(401, 'unauthorized', 'the bearer token is invalid or expired',
        { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    if (subject !== username) throw new AppError(403, 'forbidden', 'this token may only read its own messages');
  };
}
