import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Chats } from '../../chats/module.js';
import type { EditLease } from '../../chats/types.js';
import * as req from './parsing.js';
import { conditions, orStale, requiredLeaseToken, setETag } from '../conditional-headers.js';

const leaseView = (l: EditLease) => ({ lease_token: l.token, expires_at: l.expiresAt.toISOString() });

/** The message's path parameters, parsed. */
const target = (ctx: Context) => ({
  token: req.token(ctx.params.token!),
  chat: req.number(ctx.params.number!, 'chat'),
  message: req.number(ctx.params.message!, 'message'),
});

/**
 * Editing a chat message (docs/api.md, "Editing"): PUT/PATCH (edit), DELETE, and its edit lease (POST take, PUT renew,
 * DELETE release). If-Match (412/428) and Lease-Token (423) are parsed here and ruled on in the domain.
 */
export function messageEditRoutes(router: Router, chats: Chats, read: { json: Middleware; message: Middleware[] }): void {
  const { json } = read;
  const path = '/:token/chats/:number/messages/:message';
  const edit = (ctx: Context) => orStale(req.messageView, async () => {
    const t = target(ctx);
    const { body } = chats.validate.message(ctx.request.body);
    const message = await chats.editor.edit(t.token, t.chat, t.message, body, conditions(ctx));
    setETag(ctx, message.version);
    ctx.body = req.messageView(message);
  });
  router.put(path, ...read.message, edit);
  router.patch(path, ...read.message, edit);
  router.delete(path, (ctx) => orStale(req.messageView, async () => {
    const t = target(ctx);
    await chats.editor.delete(t.token, t.chat, t.message, conditions(ctx));
    ctx.status = 204;
  }));

  router.post(`${path}/lease`, json, async (ctx) => {
    const t = target(ctx);
    const { ttlSeconds } = chats.validate.lease(ctx.request.body);
    const lease = await chats.leases.acquire(t.token, t.chat, t.message, ttlSeconds);
    ctx.status = 201;
    ctx.body = leaseView(lease);
  });
  router.put(`${path}/lease`, json, async (ctx) => {
    const t = target(ctx);
    const leaseToken = requiredLeaseToken(ctx);
    const { ttlSeconds } = chats.validate.lease(ctx.request.body);
    ctx.body = leaseView(await chats.leases.renew(t.token, t.chat, t.message, leaseToken, ttlSeconds));
  });
  router.delete(`${path}/lease`, async (ctx) => {
    const t = target(ctx);
    await chats.leases.release(t.token, t.chat, t.message, requiredLeaseToken(ctx));
    ctx.status = 204;
  });
}
