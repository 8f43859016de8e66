import Router from '@koa/router';
import type { Context } from 'koa';
import type { Chats } from '../../chats/module.js';
import type { MessageSearcher } from '../../search/message-searcher.js';
import * as req from './parsing.js';
import { hitView, setNextLink } from './views.js';
import { searchQuery } from '../field-aliases.js';

/**
 * Message search under `prefix` (/applications and /api/applications), at both
 * `.../chats/:number/messages/search` and `.../chats/:number/search`. Mounted before the applications routes, so
 * `/messages/search` never reaches `/messages/:message`. The token and chat are checked in Cassandra first (404),
 * then `q` (400), then OpenSearch is asked: when it is down, only these routes answer 503 `search_unavailable`.
 */
export function searchRoutes(chats: Chats, searcher: MessageSearcher, opts: { prefix: string; aliases: boolean }): Router {
  const router = new Router({ prefix: opts.prefix });
  const search = async (ctx: Context) => {
    const token = req.token(ctx.params.token!);
    const chat = req.number(ctx.params.number!, 'chat');
    const limit = req.limit(ctx.query);
    const after = req.after(ctx.query);
    await chats.chats.resolve(token, chat);
    // A repeated q (`?q=a&q=b`) is not a list of queries: the first one counts. `search_query` on /api/applications.
    const q = searchQuery(ctx, opts.aliases);
    const page = await searcher.searchMessages({ token, chat, q, after, limit });
    if (page.next !== null) setNextLink(ctx, { q: q as string, limit, after: page.next });
    ctx.body = page.messages.map(hitView);
  };
  router.get('/:token/chats/:number/messages/search', search);
  router.get('/:token/chats/:number/search', search);
  return router;
}
