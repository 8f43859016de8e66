import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Chats } from '../../chats/module.js';
import type { VersionEntry } from '../../chats/message-history.js';
import { badRequest } from '../../errors.js';
import * as req from './parsing.js';

/** `?before=`: a version number (the `next` of the previous page); null when absent. */
function before(query: Record<string, unknown>): number | null {
  const raw = query.before;
  if (raw === undefined) return null;
  if (typeof raw !== 'string' || !/^[1-9]\d{0,9}$/.test(raw)) {
    throw badRequest('invalid_before', 'before must be a positive integer (a version of the previous page)');
  }
  return Number(raw);
}

function version(input: string): number {
  if (!/^[1-9]\d{0,9}$/.test(input)) throw badRequest('invalid_version', 'the version must be a positive integer');
  return Number(input);
}

export const versionView = (e: VersionEntry) => ({
  version: e.version, size: e.size, digest: e.digest, edited_at: e.editedAt.toISOString(), lease_holder: e.lease,
});

/**
 * A message's history (docs/file-storage.md): GET .../versions (the retained versions, newest first, paginated
 * with ?before= and Link rel=next) and GET .../versions/:version (one version with its body).
 */
export function messageHistoryRoutes(router: Router, chats: Chats): void {
  const path = '/:token/chats/:number/messages/:message/versions';
  const target = (ctx: Context) => ({
    token: req.token(ctx.params.token!), chat: req.number(ctx.params.number!, 'chat'),
    message: req.number(ctx.params.message!, 'message'),
  });
  router.get(path, async (ctx) => {
    const t = target(ctx);
    const limit = req.limit(ctx.query);
    const page = await chats.history.list(t.token, t.chat, t.message, before(ctx.query), limit);
    if (page.next !== null) req.setNextLink(ctx, { limit, before: page.next });
    ctx.body = page.items.map(versionView);
  });
  router.get(`${path}/:version`, async (ctx) => {
    const t = target(ctx);
    const { entry, body } = await chats.history.get(t.token, t.chat, t.message, version(ctx.params.version!));
    ctx.body = { number: t.message, ...versionView(entry), body };
  });
}
