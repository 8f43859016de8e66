/* eslint-disable @typescript-eslint/no-explicit-any -- replies are arbitrary JSON, asserted field by field */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { contractFetch } from '../support/contract.js';

/** Every JSON body the tests saw, so a suite can check that none of them carries an internal identifier. */
export const seenBodies: unknown[] = [];

export interface Reply<T = any> { status: number; body: T; headers: Headers }

/**
 * One HTTP call with a JSON body (or raw string), recording the JSON answer. Every response is checked against
 * the OpenAPI document the server serves (status, headers, body schema): a mismatch fails the calling test.
 */
export async function call<T = any>(base: string, method: string, path: string, body?: unknown,
  headers: Record<string, string> = {}): Promise<Reply<T>> {
  const res = await contractFetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  const parsed = text ? JSON.parse(text) as T : (undefined as T);
  seenBodies.push(parsed);
  return { status: res.status, body: parsed, headers: res.headers };
}

/**
 * A server started with `{ ADMIN_TOKEN }` lists applications to callers sending `asAdmin`. Taken from the environment
 * when an external service (TEST_BASE_URL, make test-pods) was given the same one.
 */
export const ADMIN_TOKEN = process.env.ADMIN_TOKEN || randomBytes(32).toString('base64url');
export const asAdmin = { authorization: `Bearer ${ADMIN_TOKEN}` };

export async function newApp(base: string, name = 'app'): Promise<string> {
  const r = await call(base, 'POST', '/applications', { name });
  assert.equal(r.status, 201);
  return r.body.token as string;
}

export async function newChat(base: string, token: string): Promise<number> {
  const r = await call(base, 'POST', `/applications/${token}/chats`, { name: 'chat' });
  assert.equal(r.status, 201);
  return r.body.number as number;
}

/** Follows `Link: <...>; rel="next"` from `path` to the end, returning every item in order. */
export async function walk<T = any>(base: string, path: string,
  headers: Record<string, string> = {}): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let next: string | null = path;
  let pages = 0;
  while (next) {
    const r: Reply<T[]> = await call<T[]>(base, 'GET', next, undefined, headers);
    assert.equal(r.status, 200);
    items.push(...r.body);
    pages += 1;
    next = /<([^>]+)>;\s*rel="next"/.exec(r.headers.get('link') ?? '')?.[1] ?? null;
  }
  return { items, pages };
}

/** Keys anywhere in a JSON value. */
export function keysOf(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) keysOf(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) { out.add(k); keysOf(v, out); }
  }
  return out;
}

/** Strings anywhere in a JSON value. */
export function stringsOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsOf(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) stringsOf(v, out);
  return out;
}

/** Runs `work` for 0..n-1 with at most `width` in flight. */
export async function pool<T>(n: number, width: number, work: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) { const i = next++; out[i] = await work(i); }
  }));
  return out;
}

export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
