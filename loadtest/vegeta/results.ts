/**
 * Reads vegeta's results (`vegeta encode -to json`: one JSON object per request) into per-endpoint latency
 * samples, failures and, with shape checks on, each check's passes and fails.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { endpointOf, SHAPE_CHECKS, type Endpoint } from './shapes.js';

interface VegetaResult {
  code: number; latency: number; error: string; body: string | null; method: string; url: string; timestamp: string;
}

export interface Collected {
  /** Latency in ms of every request, and per endpoint. */
  all: number[];
  /** The inbox's three always (reports compare them across runs); a chat endpoint once it was requested. */
  byEndpoint: Partial<Record<Endpoint, number[]>> & Record<'create' | 'get' | 'list', number[]>;
  /** Status >= 400 or no response (network error, timeout): what k6 counted as http_req_failed. */
  failed: number;
  /** Results vegeta wrote without sending anything because the target stream ended early. */
  starved: number;
  statusCodes: Record<string, number>;
  errors: Record<string, number>;
  checks: Map<string, { passes: number; fails: number }>;
  firstMs: number;
  lastMs: number;
}

export async function collect(input: Readable, checkShapes: boolean): Promise<Collected> {
  const c: Collected = {
    all: [], byEndpoint: { create: [], get: [], list: [] }, failed: 0, starved: 0, statusCodes: {}, errors: {},
    checks: new Map(), firstMs: Infinity, lastMs: -Infinity,
  };
  // The inbox's checks are listed even when an endpoint got no request (the smoke judges all three); a chat
  // endpoint's checks appear once it was requested.
  if (checkShapes) {
    for (const ep of ['create', 'get', 'list'] as const) for (const k of SHAPE_CHECKS[ep]) c.checks.set(k.name, { passes: 0, fails: 0 });
  }
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (!line) continue;
    const r = JSON.parse(line) as VegetaResult;
    if (r.method === '' && r.error === 'no targets to attack') { c.starved++; continue; }
    const ms = r.latency / 1e6;
    const ep = endpointOf(r.method, r.url);
    c.all.push(ms);
    if (ep) (c.byEndpoint[ep] ??= []).push(ms);
    const t = Date.parse(r.timestamp);
    if (t < c.firstMs) c.firstMs = t;
    if (t > c.lastMs) c.lastMs = t;
    c.statusCodes[r.code] = (c.statusCodes[r.code] ?? 0) + 1;
    if (r.code === 0 || r.code >= 400) c.failed++;
    if (r.error) {
      // Errors quote the URL (a message id each): keep 20 distinct texts, count the rest together.
      const key = r.error in c.errors || Object.keys(c.errors).length < 20 ? r.error : 'other errors';
      c.errors[key] = (c.errors[key] ?? 0) + 1;
    }
    if (checkShapes && ep) {
      const body = r.body ? Buffer.from(r.body, 'base64').toString('utf8') : '';
      for (const k of SHAPE_CHECKS[ep]) {
        const tally = c.checks.get(k.name) ?? { passes: 0, fails: 0 };
        c.checks.set(k.name, tally);
        if (k.ok(r.code, body)) tally.passes++; else tally.fails++;
      }
    }
  }
  return c;
}
