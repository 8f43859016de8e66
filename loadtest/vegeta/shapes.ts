/**
 * The response checks of the smoke: status and JSON shape per endpoint, as the API contract in docs/api.md
 * states them. A check is a name and a predicate over (status, body text).
 */
export type Endpoint = 'create' | 'get' | 'list' | 'chat_create' | 'chat_list' | 'chat_search';

export interface ShapeCheck { name: string; ok: (status: number, body: string) => boolean }

const parse = (body: string): unknown => { try { return JSON.parse(body); } catch { return undefined; } };
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const isMessageArray = (v: unknown) => Array.isArray(v)
  && v.every((m) => isObject(m) && Number.isSafeInteger(m.number) && typeof m.body === 'string');

export const SHAPE_CHECKS: Record<Endpoint, ShapeCheck[]> = {
  create: [
    { name: 'POST /chat: 201', ok: (s) => s === 201 },
    {
      name: 'POST /chat: {id: positive integer}',
      ok: (_s, b) => { const v = parse(b); return isObject(v) && Number.isSafeInteger(v.id) && (v.id as number) > 0; },
    },
  ],
  get: [
    { name: 'GET /chat/:id: 200', ok: (s) => s === 200 },
    {
      name: 'GET /chat/:id: {username, text, expiration_date}',
      ok: (_s, b) => {
        const v = parse(b);
        return isObject(v) && typeof v.username === 'string' && typeof v.text === 'string'
          && typeof v.expiration_date === 'string' && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(v.expiration_date);
      },
    },
  ],
  list: [
    { name: 'GET /chats/:username: 200', ok: (s) => s === 200 },
    {
      name: 'GET /chats/:username: [{id, text}]',
      ok: (_s, b) => {
        const v = parse(b);
        return Array.isArray(v) && v.every((m) => isObject(m) && Number.isSafeInteger(m.id) && typeof m.text === 'string'
          && Object.keys(m).length === 2);
      },
    },
  ],
  chat_create: [
    { name: 'POST .../chats/:n/messages: 201', ok: (s) => s === 201 },
    {
      name: 'POST .../chats/:n/messages: {number: positive integer}',
      ok: (_s, b) => { const v = parse(b); return isObject(v) && Number.isSafeInteger(v.number) && (v.number as number) > 0; },
    },
  ],
  chat_list: [
    { name: 'GET .../chats/:n/messages: 200 [{number, body}]', ok: (s, b) => s === 200 && isMessageArray(parse(b)) },
  ],
  chat_search: [
    { name: 'GET .../chats/:n/messages/search: 200 [{number, body}]', ok: (s, b) => s === 200 && isMessageArray(parse(b)) },
  ],
};

/** Which endpoint a request went to, from its method and URL path. */
export function endpointOf(method: string, url: string): Endpoint | null {
  const path = url.replace(/^[a-z]+:\/\/[^/]+/i, '');
  if (method === 'POST' && path === '/chat') return 'create';
  if (method === 'GET' && path.startsWith('/chat/')) return 'get';
  if (method === 'GET' && path.startsWith('/chats/')) return 'list';
  const chat = /^(?:\/api)?\/applications\/[^/]+\/chats\/\d+\/(messages\/search|search|messages)(?:\?|$)/.exec(path);
  if (!chat) return null;
  if (chat[1] === 'messages') return method === 'POST' ? 'chat_create' : method === 'GET' ? 'chat_list' : null;
  return method === 'GET' ? 'chat_search' : null;
}
