import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Chats } from '../../chats/module.js';
import { messagePath } from './parsing.js';
import { leaseView, messageView } from './views.js';
import { conditions, orStale, requiredLeaseToken, setETag } from '../conditional-headers.js';

/**
 * Editing a chat message (docs/api.md, "Editing"): PUT/PATCH (edit), DELETE, and its edit lease (POST take, PUT renew,
 * DELETE release). If-Match (412/428) and Lease-Token (423) are parsed here and ruled on in the domain.
 */
export function messageEditRoutes(router: Router, chats: Chats, read: { json: Middleware; message: Middleware[] }): void {
  const { json } = read;
  const path = '/:token/chats/:number/messages/:message';
  const edit = (ctx: Context) => orStale(messageView, async () => {
    const t = messagePath(ctx);
    const { body } = chats.validate.message(ctx.request.body);
    const message = await chats.editor.edit(t.token, t.chat, t.message, body, conditions(ctx));
    setETag(ctx, message.version);
    ctx.body = messageView(message);
  });
  router.put(path, ...read.message, edit);
  router.patch(path, ...read.message, edit);
  router.delete(path, (ctx) => orStale(messageView, async () => {
    const t = messagePath(ctx);
    await chats.editor.delete(t.token, t.chat, t.message, conditions(ctx));
    ctx.status = 204;
  }));

  router.post(`${path}/lease`, json, async (ctx) => {
    const t = messagePath(ctx);
    const { ttlSeconds } = chats.validate.lease(ctx.request.body);
    const lease = await chats.leases.acquire(t.token, t.chat, t.message, ttlSeconds);
    ctx.status = 201;
    ctx.body = leaseView(lease);
  });
  router.put(`${path}/lease`, json, async (ctx) => {
    const t = messagePath(ctx);
    const leaseToken = requiredLeaseToken(ctx);
    const { ttlSeconds } = chats.validate.lease(ctx.request.body);
    ctx.body = leaseView(await chats.leases.renew(t.token, t.chat, t.message, leaseToken, ttlSeconds));
  });
  router.delete(`${path}/lease`, async (ctx) => {
    const t = messagePath(ctx);
    await chats.leases.release(t.token, t.chat, t.message, requiredLeaseToken(ctx));
    ctx.status = 204;
  });
}
