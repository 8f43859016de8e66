import type { Context } from 'koa';
import type { ApplicationView } from '../../chats/application-service.js';
import type { ChatView } from '../../chats/chat-service.js';
import type { VersionEntry } from '../../chats/message-history.js';
import type { ChatMessage, EditLease } from '../../chats/types.js';
import type { SearchHit } from '../../search/message-searcher.js';

/** The response shapes of /applications (snake_case JSON); the request parsing is parsing.ts. No internal id is ever shaped. */
export const applicationView = (a: ApplicationView) => ({
  token: a.token, name: a.name, version: a.version, chats_count: a.chatsCount,
  created_at: a.createdAt.toISOString(), updated_at: a.updatedAt.toISOString(),
});

export const chatView = (c: ChatView) => ({
  number: c.number, name: c.name, version: c.version, messages_count: c.messagesCount,
  created_at: c.createdAt.toISOString(), updated_at: c.updatedAt.toISOString(),
});

export const messageView = (m: ChatMessage) => ({
  number: m.number, body: m.body, version: m.version,
  created_at: m.createdAt.toISOString(), updated_at: m.updatedAt.toISOString(),
});

/** A search hit in the shape of a message. */
export const hitView = (h: SearchHit) => ({
  number: h.number, body: h.body, version: h.version, created_at: h.created_at ?? null, updated_at: h.updated_at ?? null,
});

/** One entry of a message's history. */
export const versionView = (e: VersionEntry) => ({
  version: e.version, size: e.size, digest: e.digest, edited_at: e.editedAt.toISOString(), lease_holder: e.lease,
});

export const leaseView = (l: EditLease) => ({ lease_token: l.token, expires_at: l.expiresAt.toISOString() });

/** RFC 8288 next link, relative to the path that was asked (so both mounts link to themselves). */
export function setNextLink(ctx: Context, params: Record<string, string | number>): void {
  const qs = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
  ctx.set('link', `<${ctx.path}?${qs}>; rel="next"`);
}
