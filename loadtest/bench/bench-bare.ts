/**
 * The "bare handler" of `make bench-cpu`: plain `node:http` serving POST /chat, GET /chat/:id and
 * GET /chats/:username with the same data layer as the service (MessageService over the same stores, i.e. the
 * same prepared CQL through the same driver and Db executor), and the chat endpoints the bench drives (create an
 * application, a chat, a message; list a chat's messages; search them) over the same chat services and
 * searcher, and nothing else: no Koa, no access log, no HTTP
 * metrics, no request context, no validation beyond what the CQL needs, no rate limit. The service's CPU per
 * request minus this one's is what the framework and the features cost; this one minus the raw data layer's is
 * what HTTP itself (parse, respond, JSON) costs.
 *
 *   PORT=18086 CASSANDRA_HOT_KEYSPACE=perf_hot CASSANDRA_COLD_KEYSPACE=perf_cold node --import tsx loadtest/bench/bench-bare.ts
 */
import http from 'node:http';
import { loadConfig } from '../../src/config.js';
import { formatExpiration } from '../../src/inbox/message.js';
import type { ChatMessage } from '../../src/chats/types.js';
import { closeRaw, rawParts } from './bench-cpu-raw.js';

const config = loadConfig();
// The same data layer as the raw side: one driver, the writer lease, both products' services, the searcher.
const { service, chats, searcher } = await rawParts();
const view = (m: Pick<ChatMessage, 'number' | 'body' | 'version'>) => ({ number: m.number, body: m.body, version: m.version });
const CHAT = /^\/applications\/([^/]+)\/chats(?:\/(\d+)(\/messages(\/search)?)?)?(?:\?(.*))?$/;

async function readJson<T>(req: http.IncomingMessage): Promise<T> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
}

/** The chat endpoints, or false when `url` is none of them. */
async function handleChats(req: http.IncomingMessage, res: http.ServerResponse, url: string): Promise<boolean> {
  if (req.method === 'POST' && url === '/applications') {
    const app = await chats.applications.create((await readJson<{ name: string }>(req)).name);
    send(res, 201, JSON.stringify({ token: app.token, name: app.name }));
    return true;
  }
  const m = CHAT.exec(url);
  if (!m) return false;
  const [, token, chat, messages, search, query] = m;
  const params = new URLSearchParams(query ?? '');
  if (req.method === 'POST' && !chat) {
    const { item } = await chats.chats.create(token!, (await readJson<{ name: string }>(req)).name);
    send(res, 201, JSON.stringify({ number: item.number }));
  } else if (req.method === 'POST' && messages && !search) {
    const { item } = await chats.messages.create(token!, Number(chat), (await readJson<{ body: string }>(req)).body);
    send(res, 201, JSON.stringify(view(item)));
  } else if (req.method === 'GET' && search) {
    await chats.chats.resolve(token!, Number(chat));
    const page = await searcher.searchMessages({ token: token!, chat: Number(chat), q: params.get('q') ?? '',
      after: Number(params.get('after') ?? 0), limit: Number(params.get('limit') ?? 50) });
    send(res, 200, JSON.stringify(page.messages.map(view)));
  } else if (req.method === 'GET' && messages) {
    const page = await chats.messages.list(token!, Number(chat), Number(params.get('after') ?? 0), Number(params.get('limit') ?? 50));
    send(res, 200, JSON.stringify(page.items.map(view)));
  } else {
    return false;
  }
  return true;
}

const send = (res: http.ServerResponse, status: number, body: string) => {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  if (req.method === 'POST' && url === '/chat') {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const b = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { username: string; text: string; timeout?: number };
    const id = await service.create({ username: b.username, text: b.text, timeout: b.timeout ?? 60 });
    return send(res, 201, JSON.stringify({ id }));
  }
  if (req.method === 'GET' && url.startsWith('/chat/')) {
    const m = await service.get(Number(url.slice(6)));
    return send(res, 200, JSON.stringify({ username: m.username, text: m.text, expiration_date: formatExpiration(m.expiresAt) }));
  }
  if (req.method === 'GET' && url.startsWith('/chats/')) {
    const username = decodeURIComponent(url.slice(7));
    let body = '[';
    for await (const batch of service.consume(username)) {
      for (const m of batch) body += `${body.length > 1 ? ',' : ''}${JSON.stringify({ id: m.id, text: m.text })}`;
    }
    return send(res, 200, `${body}]`);
  }
  if (url.startsWith('/applications') && await handleChats(req, res, url)) return;
  if (url === '/readyz') return send(res, 200, '{"status":"ok"}');
  send(res, 404, '{"error":"not_found"}');
}

const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  handle(req, res).catch((err: unknown) => {
    const status = (err as { status?: number }).status ?? 500;
    if (!res.headersSent) send(res, status, JSON.stringify({ error: (err as Error).message }));
    else res.destroy();
  });
});
server.listen(config.PORT, config.HOST);
const stop = () => {
  server.close();
  server.closeAllConnections();
  void closeRaw().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
