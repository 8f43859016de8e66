import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Chats } from '../../chats/module.js';
import type { BodySource } from '../../chats/message-bodies.js';
import { AppError, badRequest, payloadTooLarge, unsupportedMediaType } from '../../errors.js';
import { messagePath, version } from './parsing.js';
import { conditions, etagOf, orStale } from '../conditional-headers.js';
import { messageView, versionView } from './views.js';
import { withoutStorageDeadline } from '../../storage/request-deadline.js';

/** A raw body is text: text/plain (UTF-8 or ASCII, the default) or application/octet-stream (checked as UTF-8). */
function checkRawType(ctx: Context): void {
  const type = ctx.request.type; // media type, lower case, without parameters (as the JSON reader reads it)
  if (type !== 'text/plain' && type !== 'application/octet-stream') {
    throw unsupportedMediaType('a raw body is text/plain; charset=utf-8 (or application/octet-stream)');
  }
  const charset = ctx.request.charset.toLowerCase();
  if (charset !== '' && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') {
    throw unsupportedMediaType(`the charset ${JSON.stringify(charset)} is not supported (UTF-8)`);
  }
  const encoding = ctx.get('content-encoding').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') throw unsupportedMediaType('a raw body is sent without Content-Encoding');
}

/**
 * The announced size, within `max`; refused before a byte is read. Content-Length is required (411): the store
 * needs the size up front (S3 has no unbounded PUT), and a limit is then known before the upload starts. Over
 * the limit: 413, and the connection is closed (the rest of the body is not read, nor stored anywhere).
 */
function announcedSize(ctx: Context, max: number): number {
  const raw = ctx.get('content-length');
  if (!/^\d{1,15}$/.test(raw)) throw new AppError(411, 'length_required', 'a raw body needs a Content-Length');
  const size = Number(raw);
  if (size > max) {
    ctx.set('connection', 'close');
    throw payloadTooLarge(max, { connection: 'close' });
  }
  if (size === 0) throw badRequest('invalid_body', 'body must not be empty');
  return size;
}

/**
 * Sends a body as it streams from its store. The size and digest the row recorded go out as Content-Length,
 * ETag-like Repr-Digest (RFC 9530) before the bytes; a mismatch found at the end (VerifyingStream) cannot be
 * un-sent, so the connection is aborted: the client sees fewer bytes than Content-Length (or a reset) and never
 * a complete, wrong body. A HEAD gets the headers only (the object stream is closed at once).
 */
function sendBody(ctx: Context, version: number, body: BodySource): void {
  ctx.set('etag', etagOf(version));
  if (body.digest !== '') ctx.set('repr-digest', `sha-256=:${Buffer.from(body.digest, 'hex').toString('base64')}:`);
  ctx.set('x-content-type-options', 'nosniff');
  ctx.type = 'text/plain; charset=utf-8';
  if (ctx.method === 'HEAD') {
    body.stream.destroy();
    ctx.length = body.size;
    ctx.status = 200;
    return;
  }
  body.stream.once('error', () => ctx.res.destroy());
  ctx.body = body.stream;
  ctx.length = body.size;
}

/**
 * A message's body as its own resource (docs/file-storage.md, "Streamed bodies"): PUT .../body stores a raw body
 * as the next version, streamed to the store with bounded memory (CHAT_MAX_STREAMED_BODY_BYTES); GET .../body
 * and GET .../versions/:v/body stream one back. If-Match and Lease-Token rule as for a JSON edit.
 */
export function messageBodyRoutes(router: Router, chats: Chats): void {
  const path = '/:token/chats/:number/messages/:message';
  router.put(`${path}/body`, (ctx) => orStale(messageView, async () => {
    const t = messagePath(ctx);
    checkRawType(ctx);
    const size = announcedSize(ctx, chats.bodies.settings.maxStreamedBytes);
    const cond = conditions(ctx);
    // An upload of up to CHAT_MAX_STREAMED_BODY_BYTES runs between this edit's statements: no storage deadline.
    const m = await withoutStorageDeadline(() => chats.editor.editStreamed(t.token, t.chat, t.message, ctx.req, size, cond));
    const entry = m.history.find((e) => e.version === m.version);
    ctx.set('etag', etagOf(m.version));
    ctx.body = { number: m.number, ...(entry ? versionView(entry)
      : { version: m.version, size, digest: m.ref?.digest ?? '', edited_at: m.updatedAt.toISOString(), lease_holder: null }) };
  }));
  router.get(`${path}/body`, async (ctx) => {
    const t = messagePath(ctx);
    const { entry, body } = await chats.history.source(t.token, t.chat, t.message, null);
    sendBody(ctx, entry.version, body);
  });
  router.get(`${path}/versions/:version/body`, async (ctx) => {
    const t = messagePath(ctx);
    const { entry, body } = await chats.history.source(t.token, t.chat, t.message, version(ctx.params.version!));
    sendBody(ctx, entry.version, body);
  });
}
