import type { Delivered, History } from './history.js';

/**
 * A mixed load against the service processes: writers create messages for a few hot users, readers list the
 * same users concurrently, round-robin over the processes. Every operation goes into the history with its
 * outcome: 2xx ok, 4xx fail (certainly not applied), anything else (5xx, cut stream, timeout) info.
 */
export interface LoadOptions {
  urls: string[];
  users: string[];
  history: History;
  writers?: number;
  readers?: number;
  /** Chat message paths (`/applications/:token/chats/:n/messages`): two workers number messages in them. */
  chats?: string[];
  /** Pause between one worker's operations: keeps CPU low on a shared 2-core machine. */
  pauseMs?: number;
  /** Client-side limit, far above the service's own request timeout: reaching it means a hang. */
  clientTimeoutMs?: number;
}

/** Editors pick among this many most recently numbered messages: few enough that the two collide often. */
const EDITED_RECENT = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** `TypeError: fetch failed (ECONNRESET)`: undici puts what went wrong on the socket in `cause`; the kind counts. */
export const errText = (err: unknown) => {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause as { code?: string; message?: string } | undefined;
  return `${err.name}: ${err.message}${cause ? ` (${cause.code ?? cause.message})` : ''}`;
};

export async function create(h: History, url: string, user: string, text: string, timeoutMs: number): Promise<number | null> {
  const done = h.invoke('create', url, user, text);
  try {
    const res = await fetch(`${url}/chat`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...done.headers },
      body: JSON.stringify({ username: user, text, timeout: 3600 }), signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await res.json() as { id?: number };
    if (res.status === 201) { done('ok', { value: body.id, status: 201 }); return body.id!; }
    done(res.status < 500 ? 'fail' : 'info', { status: res.status, error: JSON.stringify(body) });
  } catch (err) {
    done('info', { error: errText(err) });
  }
  return null;
}

export async function list(h: History, url: string, user: string, timeoutMs: number, f: 'list' | 'drain' = 'list'): Promise<Delivered | null> {
  const done = h.invoke(f, url, user);
  try {
    const res = await fetch(`${url}/chats/${user}`, { headers: done.headers, signal: AbortSignal.timeout(timeoutMs) });
    // A stream cut before its closing bracket fails to parse: an unknown outcome, as docs/design.md promises.
    const text = await res.text();
    if (res.status !== 200) { done(res.status < 500 ? 'fail' : 'info', { status: res.status, error: text.slice(0, 200) }); return null; }
    const items = JSON.parse(text) as Array<{ id: number; text: string }>;
    const value: Delivered = items.map((m) => [m.id, m.text]);
    done('ok', { value, status: 200 });
    return value;
  } catch (err) {
    done('info', { error: errText(err) });
    return null;
  }
}

/**
 * One edit of a numbered chat message, without If-Match (last writer wins, each on the version it read): the ok
 * value is `[number, version, body]`, the version the service says this edit made.
 */
export async function edit(h: History, url: string, path: string, number: number, body: string, timeoutMs: number): Promise<void> {
  const done = h.invoke('edit', url, `${path}/${number}`, body);
  try {
    const res = await fetch(`${url}${path}/${number}`, {
      method: 'PUT', headers: { 'content-type': 'application/json', ...done.headers },
      body: JSON.stringify({ body }), signal: AbortSignal.timeout(timeoutMs),
    });
    const reply = await res.json() as { version?: number; body?: string };
    if (res.status === 200) done('ok', { value: [number, reply.version, reply.body], status: 200 });
    else done(res.status < 500 ? 'fail' : 'info', { status: res.status, error: JSON.stringify(reply) });
  } catch (err) {
    done('info', { error: errText(err) });
  }
}

/** After the load: each edited message read once (retrying through errors), value `{ version, body }`. */
export async function readEdited(h: History, url: string, deadlineMs = 60_000): Promise<void> {
  const keys = new Set(h.events.filter((e) => e.f === 'edit' && e.type === 'invoke').map((e) => e.key));
  const deadline = Date.now() + deadlineMs;
  for (const key of keys) {
    for (;;) {
      if (Date.now() > deadline) throw new Error(`could not read ${key} within ${deadlineMs} ms`);
      const done = h.invoke('read', url, key);
      try {
        const res = await fetch(`${url}${key}`, { headers: done.headers, signal: AbortSignal.timeout(30_000) });
        const reply = await res.json() as { version?: number; body?: string };
        if (res.status === 200) { done('ok', { value: { version: reply.version, body: reply.body }, status: 200 }); break; }
        done(res.status < 500 ? 'fail' : 'info', { status: res.status, error: JSON.stringify(reply) });
      } catch (err) {
        done('info', { error: errText(err) });
      }
      await sleep(500);
    }
  }
}

/** One chat message create: the number it was given is the history's value (numbering checked for gaps vs duplicates). */
export async function numbered(h: History, url: string, path: string, body: string, timeoutMs: number): Promise<void> {
  const done = h.invoke('number', url, path, body);
  try {
    const res = await fetch(`${url}${path}`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...done.headers },
      body: JSON.stringify({ body }), signal: AbortSignal.timeout(timeoutMs),
    });
    const reply = await res.json() as { number?: number };
    if (res.status === 201) done('ok', { value: reply.number, status: 201 });
    else done(res.status < 500 ? 'fail' : 'info', { status: res.status, error: JSON.stringify(reply) });
  } catch (err) {
    done('info', { error: errText(err) });
  }
}

export function startLoad(o: LoadOptions): { stop(): Promise<void>; acknowledged(): number } {
  const writers = o.writers ?? 4;
  const readers = o.readers ?? 2;
  const pause = o.pauseMs ?? 40;
  const timeout = o.clientTimeoutMs ?? 30_000;
  let running = true;
  let acked = 0;
  const workers = [
    ...Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; running; i++) {
        const user = o.users[(w + i) % o.users.length]!;
        if (await create(o.history, o.urls[(w + i) % o.urls.length]!, user, `w${w}-${i}`, timeout) !== null) acked++;
        await sleep(pause);
      }
    }),
    ...(o.chats ?? []).flatMap((path) => Array.from({ length: 2 }, async (_, n) => {
      for (let i = 0; running; i++) {
        await numbered(o.history, o.urls[(n + i) % o.urls.length]!, path, `n${n}-${i}`, timeout);
        await sleep(pause * 2);
      }
    })),
    // Two editors, one per process, on the same few recent messages of each chat: they race on versions.
    ...(o.chats ?? []).flatMap((path) => Array.from({ length: 2 }, async (_, n) => {
      for (let i = 0; running; i++) {
        const numbers = o.history.events.filter((e) => e.f === 'number' && e.type === 'ok' && typeof e.value === 'number')
          .slice(-EDITED_RECENT).map((e) => e.value as number);
        if (numbers.length > 0) {
          await edit(o.history, o.urls[n % o.urls.length]!, path, numbers[(i * 7 + n) % numbers.length]!, `e${n}-${i}`, timeout);
        }
        await sleep(pause * 3);
      }
    })),
    // Each reader sticks to one process and walks the users: two processes race on the same cursors.
    ...Array.from({ length: readers }, async (_, r) => {
      for (let i = 0; running; i++) {
        await list(o.history, o.urls[r % o.urls.length]!, o.users[(r + i) % o.users.length]!, timeout);
        await sleep(pause * 2);
      }
    }),
  ];
  return {
    acknowledged: () => acked,
    async stop() { running = false; await Promise.all(workers); },
  };
}

/** After the load: list every user until two reads in a row come back empty, retrying through errors. */
export async function drain(h: History, urls: string[], users: string[], deadlineMs = 120_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (const user of users) {
    let empties = 0;
    for (let i = 0; empties < 2; i++) {
      if (Date.now() > deadline) throw new Error(`could not drain ${user} within ${deadlineMs} ms`);
      const got = await list(h, urls[i % urls.length]!, user, 30_000, 'drain');
      if (got === null) { await sleep(500); continue; }
      empties = got.length === 0 ? empties + 1 : 0;
    }
  }
}
