import { Readable } from 'node:stream';
import Router from '@koa/router';
import bodyParser from 'koa-bodyparser';
import type { Context, Next } from 'koa';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Config } from '../config.js';
import type { MessageService, Delivered } from '../inbox/message-service.js';
import type { Validators } from '../inbox/validation.js';
import { formatExpiration } from '../inbox/message.js';
import { usernameLimiter } from './rate-limit.js';
import { listAuthorizer } from './auth.js';

/** Thin entry points: parse, validate, call the service, shape the JSON. */
export function chatRoutes(service: MessageService, validate: Validators, config: Config, log: Logger): Router {
  const router = new Router();
  const parseJson = bodyParser({ enableTypes: ['json'], jsonLimit: `${config.MAX_BODY_BYTES}b`, strict: true });

  const limitUsername = usernameLimiter(config.RATE_LIMIT_USERNAME_RPS, config.RATE_LIMIT_BURST_SECONDS);
  const authorizeList = listAuthorizer(config);

  router.post('/chat', requireJson, parseJson, async (ctx) => {
    const input = validate.newMessage(ctx.request.body);
    limitUsername(input.username);
    const key = ctx.get('idempotency-key');
    const { id, replayed } = key
      ? await service.createIdempotent(input, validate.idempotencyKey(key))
      : { id: await service.create(input), replayed: false };
    if (replayed) ctx.set('idempotent-replayed', 'true');
    ctx.status = 201;
    ctx.body = { id };
  });

  router.get('/chat/:id', async (ctx) => {
    const m = await service.get(validate.id(ctx.params.id!));
    ctx.body = { username: m.username, text: m.text, expiration_date: formatExpiration(m.expiresAt) };
  });

  router.get('/chats/:username', async (ctx) => {
    const username = validate.username(ctx.params.username!);
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
  });

  return router;
}

async function requireJson(ctx: Context, next: Next): Promise<void> {
  const type = ctx.request.type;
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new AppError(415, 'unsupported_media_type', 'the body must be application/json');
  }
  await next();
}

async function* streamArray(first: Delivered[], rest: AsyncGenerator<Delivered[]>, log: Logger, reqId: string) {
  let sep = '[';
  const items = function* (batch: Delivered[]) {
    for (const m of batch) { yield `${sep}${JSON.stringify({ id: m.id, text: m.text })}`; sep = ','; }
  };
  yield* items(first);
  try {
    for await (const batch of rest) yield* items(batch);
  } catch (err) {
    // Everything already streamed was claimed; a page whose claim is unknown may be lost, which the cut
    // connection (not a closed array) reports.
    log.warn({ reqId, err: (err as Error).message }, 'list read stopped early');
    throw err;
  }
  yield ']';
}
