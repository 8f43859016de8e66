import { Readable } from 'node:stream';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Logger } from '../../logger.js';
import type { MessageService, Delivered } from '../../inbox/message-service.js';
import type { Validators } from '../../inbox/validation.js';
import { formatExpiration } from '../../inbox/message.js';
import { usernameLimiter } from '../rate-limit.js';
import { isMessageId, parseMessageId } from './parsing.js';
import { idempotencyKey } from '../idempotency-key.js';
import type { ListAuthorizer } from '../auth.js';
import { lenientBody } from '../body-reader.js';
import { withoutStorageDeadline } from '../../storage/request-deadline.js';

/** The part of the configuration the inbox's routes use (built by inboxRoutesSettings in src/settings.ts). */
export interface InboxRoutesSettings {
  /** MAX_BODY_BYTES. */
  maxBodyBytes: number;
  /** CHAT_PATH_USERNAMES: GET /chat/:segment lists a username too. */
  pathUsernames: boolean;
  /** RATE_LIMIT_USERNAME_RPS (0 = off) and RATE_LIMIT_BURST_SECONDS. */
  usernameRps: number;
  burstSeconds: number;
}

/**
 * The inbox's routes (POST /chat, GET /chat/:id, GET /chats/:username), thin entry points: parse, validate, call
 * the service, shape the JSON.
 */
export function inboxRoutes(service: MessageService, validate: Validators, settings: InboxRoutesSettings,
  authorizeList: ListAuthorizer, log: Logger): Router {
  const router = new Router();
  const readBody = lenientBody({ limit: settings.maxBodyBytes, numericFields: ['timeout'] });

  const limitUsername = usernameLimiter(settings.usernameRps, settings.burstSeconds);

  router.post('/chat', readBody, async (ctx) => {
    const input = validate.newMessage(ctx.request.body);
    limitUsername(input.username);
    const key = idempotencyKey(ctx);
    const { id, replayed } = key
      ? await service.createIdempotent(input, key)
      : { id: await service.create(input), replayed: false };
    if (replayed) ctx.set('idempotent-replayed', 'true');
    ctx.status = 201;
    ctx.body = { id };
  });

  // The variant of other deployments (CHAT_PATH_USERNAMES=true): a segment that is not a valid id is a username
  // to list and consume. An all-digit username that is also a valid id can only be listed at /chats/:username.
  router.get('/chat/:id', async (ctx) => {
    const segment = ctx.params.id!;
    if (settings.pathUsernames && !isMessageId(segment)) return listAndConsume(ctx, segment);
    const m = await service.get(parseMessageId(segment));
    ctx.body = { username: m.username, text: m.text, expiration_date: formatExpiration(m.expiresAt) };
  });

  router.get('/chats/:username', (ctx) => listAndConsume(ctx, ctx.params.username!));

  async function listAndConsume(ctx: Context, segment: string): Promise<void> {
    const username = validate.username(segment);
    await authorizeList(ctx, username);
    limitUsername(username);
    const batches = service.consume(username);
    // The first batch is awaited here so that an unavailable store is still a clean 503; later batches stream.
    const first = await batches.next();
    ctx.type = 'application/json';
    if (first.done) {
      ctx.body = '[]';
      return;
    }
    const body = Readable.from(streamArray(first.value, batches, log, ctx.state.reqId as string));
    // A read that fails after its first batch must not look complete: the connection is cut before the closing
    // bracket and the final chunk, so every client sees a broken response, never a short but valid array.
    body.on('error', () => ctx.res.destroy());
    ctx.body = body;
  }

  return router;
}

async function* streamArray(first: Delivered[], rest: AsyncGenerator<Delivered[]>, log: Logger, reqId: string) {
  let sep = '[';
  const items = function* (batch: Delivered[]) {
    for (const m of batch) { yield `${sep}${JSON.stringify({ id: m.id, text: m.text })}`; sep = ','; }
  };
  yield* items(first);
  try {
    // Later pages run without the request's storage deadline: cutting one would break a response whose earlier
    // pages are claimed (delivered) already.
    for (;;) {
      const next = await withoutStorageDeadline(() => rest.next());
      if (next.done) break;
      yield* items(next.value);
    }
  } catch (err) {
    // Everything already streamed was claimed; a page whose claim is unknown may be lost, which the cut
    // connection (not a closed array) reports.
    log.warn({ reqId, err: (err as Error).message }, 'list read stopped early');
    throw err;
  }
  yield ']';
}
