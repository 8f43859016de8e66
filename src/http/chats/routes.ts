import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Chats } from '../../chats/module.js';
import * as req from './parsing.js';
import { applicationView, chatView, messageView, setNextLink } from './views.js';
import { idempotencyKey } from '../idempotency-key.js';
import { lenientBody } from '../body-reader.js';
import { conditions, orStale, setETag } from '../conditional-headers.js';
import { bodyAliases, type BodyKind } from '../field-aliases.js';
import { messageEditRoutes } from './edit-routes.js';
import { messageHistoryRoutes } from './history-routes.js';
import { messageBodyRoutes } from './body-routes.js';

export interface ChatsRoutesOptions {
  prefix: string;
  maxBodyBytes: number;
  /** Accept the Rails/Go chat system's field names (field-aliases.ts): the /api/applications mount. */
  aliases: boolean;
  /** GET / (every application with its token): the administrator's check (admin-auth.ts). */
  adminOnly: Middleware;
  /** POST / per client (rate-limit.ts), one instance for both mounts. */
  limitCreates: Middleware;
}

/**
 * The chat-applications API under `prefix` (mounted at /applications and /api/applications): thin entry points
 * that parse, call a service and shape JSON. A create answers 201 once its rows are durable in Cassandra.
 */
export function chatsRoutes(chats: Chats, opts: ChatsRoutesOptions): Router {
  const router = new Router({ prefix: opts.prefix });
  // The inbox's lenient reader: a JSON object whatever the Content-Type says, or form fields; 415 for XML/multipart.
  const json = lenientBody({ limit: opts.maxBodyBytes });
  // A body of a kind that has alias names: read, then (aliases on) the aliases resolved.
  const read = (kind: BodyKind): Middleware[] => (opts.aliases ? [json, bodyAliases(kind)] : [json]);
  const { applications, validate } = chats;
  const created = (ctx: Context, location: string, replayed: boolean) => {
    ctx.status = 201;
    ctx.set('location', location);
    if (replayed) ctx.set('idempotent-replayed', 'true');
  };

  router.post('/', opts.limitCreates, ...read('application'), async (ctx) => {
    const app = await applications.create(validate.application(ctx.request.body).name);
    created(ctx, `${ctx.path.replace(/\/$/, '')}/${app.token}`, false);
    setETag(ctx, app.version);
    ctx.body = applicationView(app);
  });
  router.get('/', opts.adminOnly, async (ctx) => {
    const limit = req.limit(ctx.query);
    const page = await applications.list(req.cursor(ctx.query), limit);
    if (page.more) setNextLink(ctx, { limit, cursor: req.encodeCursor(page.items.at(-1)!.token) });
    ctx.body = page.items.map(applicationView);
  });
  router.get('/:token', async (ctx) => {
    const app = await applications.get(req.token(ctx.params.token!));
    setETag(ctx, app.version);
    ctx.body = applicationView(app);
  });
  const rename = (ctx: Context) => orStale(applicationView, async () => {
    const token = req.token(ctx.params.token!);
    const app = await applications.rename(token, validate.application(ctx.request.body).name, conditions(ctx));
    setETag(ctx, app.version);
    ctx.body = applicationView(app);
  });
  router.put('/:token', ...read('application'), rename);
  router.patch('/:token', ...read('application'), rename);

  router.post('/:token/chats', ...read('chat'), async (ctx) => {
    const token = req.token(ctx.params.token!);
    const input = validate.newChat(ctx.request.body);
    const { item, replayed } = await chats.chats.create(token, input.name, idempotencyKey(ctx));
    created(ctx, `${ctx.path}/${item.number}`, replayed);
    setETag(ctx, item.version);
    ctx.body = chatView(item);
  });
  router.get('/:token/chats', async (ctx) => {
    const limit = req.limit(ctx.query);
    const page = await chats.chats.list(req.token(ctx.params.token!), req.after(ctx.query), limit);
    if (page.next !== null) setNextLink(ctx, { limit, after: page.next });
    ctx.body = page.items.map(chatView);
  });
  router.get('/:token/chats/:number', async (ctx) => {
    const chat = await chats.chats.get(req.token(ctx.params.token!), req.number(ctx.params.number!, 'chat'));
    setETag(ctx, chat.version);
    ctx.body = chatView(chat);
  });
  const renameChat = (ctx: Context) => orStale(chatView, async () => {
    const token = req.token(ctx.params.token!);
    const number = req.number(ctx.params.number!, 'chat');
    const chat = await chats.chats.rename(token, number, validate.chatRename(ctx.request.body).name, conditions(ctx));
    setETag(ctx, chat.version);
    ctx.body = chatView(chat);
  });
  router.put('/:token/chats/:number', ...read('chat'), renameChat);
  router.patch('/:token/chats/:number', ...read('chat'), renameChat);

  router.post('/:token/chats/:number/messages', ...read('message'), async (ctx) => {
    const token = req.token(ctx.params.token!);
    const chat = req.number(ctx.params.number!, 'chat');
    const { body } = validate.message(ctx.request.body);
    const { item, replayed } = await chats.messages.create(token, chat, body, idempotencyKey(ctx));
    created(ctx, `${ctx.path}/${item.number}`, replayed);
    setETag(ctx, item.version);
    ctx.body = messageView(item);
  });
  router.get('/:token/chats/:number/messages', async (ctx) => {
    const limit = req.limit(ctx.query);
    const page = await chats.messages.list(req.token(ctx.params.token!), req.number(ctx.params.number!, 'chat'),
      req.after(ctx.query), limit);
    if (page.next !== null) setNextLink(ctx, { limit, after: page.next });
    ctx.body = page.items.map(messageView);
  });
  router.get('/:token/chats/:number/messages/:message', async (ctx) => {
    const message = await chats.messages.get(req.token(ctx.params.token!),
      req.number(ctx.params.number!, 'chat'), req.number(ctx.params.message!, 'message'));
    setETag(ctx, message.version);
    ctx.body = messageView(message);
  });
  messageEditRoutes(router, chats, { json, message: read('message') });
  messageHistoryRoutes(router, chats);
  messageBodyRoutes(router, chats);
  return router;
}
