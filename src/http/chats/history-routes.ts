import type Router from '@koa/router';
import type { Chats } from '../../chats/module.js';
import * as req from './parsing.js';
import { setNextLink, versionView } from './views.js';

/**
 * A message's history (docs/file-storage.md): GET .../versions (the retained versions, newest first, paginated
 * with ?before= and Link rel=next) and GET .../versions/:version (one version with its body).
 */
export function messageHistoryRoutes(router: Router, chats: Chats): void {
  const path = '/:token/chats/:number/messages/:message/versions';
  router.get(path, async (ctx) => {
    const t = req.messagePath(ctx);
    const limit = req.limit(ctx.query);
    const page = await chats.history.list(t.token, t.chat, t.message, req.before(ctx.query), limit);
    if (page.next !== null) setNextLink(ctx, { limit, before: page.next });
    ctx.body = page.items.map(versionView);
  });
  router.get(`${path}/:version`, async (ctx) => {
    const t = req.messagePath(ctx);
    const { entry, body } = await chats.history.get(t.token, t.chat, t.message, req.version(ctx.params.version!));
    ctx.body = { number: t.message, ...versionView(entry), body };
  });
}
