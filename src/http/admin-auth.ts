import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { AppError } from '../errors.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * An administrator's call (docs/api.md, "Chat applications": listing every application hands out every token):
 * `Authorization: Bearer <ADMIN_TOKEN>`, else 401. With no ADMIN_TOKEN configured nobody is an administrator and
 * the answer is 401 always. Both sides are hashed first, so the comparison takes the same time whatever the
 * length or the first differing byte of what was sent (timingSafeEqual needs equal lengths: 32 bytes here).
 */
export function adminOnly(adminToken: string | undefined) {
  const expected = adminToken === undefined ? null : digest(adminToken);
  return async function requireAdmin(ctx: Context, next: Next): Promise<void> {
    const sent = /^Bearer +([^\s]+) *$/i.exec(ctx.get('authorization'))?.[1];
    const ok = expected !== null && sent !== undefined && timingSafeEqual(digest(sent), expected);
    if (!ok) {
      throw new AppError(401, 'unauthorized', 'listing applications needs the administrator token: '
        + 'Authorization: Bearer <ADMIN_TOKEN>', { 'www-authenticate': 'Bearer realm="ephemera-admin"' });
    }
    await next();
  };
}
