/**
 * The smoke's end-to-end probe, once a second beside the vegeta attack (which cannot chain requests): on a
 * user nobody else writes to, create a message, read it back by id, list it (delivered exactly once), list
 * again (gone).
 */
import type { LoadConfig } from './config.js';

export interface RoundTrips { ms: number[]; checks: Map<string, { passes: number; fails: number }> }

const NAMES = [
  'round trip: created',
  'round trip: GET /chat/:id returns what was sent',
  'round trip: first list delivers it',
  'round trip: second list is empty',
] as const;

async function once(cfg: LoadConfig, i: number): Promise<boolean[]> {
  const user = `${cfg.prefix}-smoke-${process.pid}-${i}-${Date.now()}`;
  const text = `round trip ✓ ${i}`;
  const created = await fetch(`${cfg.baseUrl}/chat`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user, text, timeout: 120 }),
  });
  const id = created.status === 201 ? ((await created.json()) as { id?: unknown }).id : undefined;
  if (typeof id !== 'number') return [false, false, false, false];
  const got = (await (await fetch(`${cfg.baseUrl}/chat/${id}`)).json()) as { username?: string; text?: string };
  const list = async () => (await (await fetch(`${cfg.baseUrl}/chats/${encodeURIComponent(user)}`)).json()) as Array<{ id: number; text: string }>;
  const first = await list();
  const second = await list();
  return [
    true,
    got.username === user && got.text === text,
    Array.isArray(first) && first.length === 1 && first[0]!.id === id && first[0]!.text === text,
    Array.isArray(second) && second.length === 0,
  ];
}

/** One round trip a second until `until` (epoch ms). */
export async function roundTrips(cfg: LoadConfig, until: number): Promise<RoundTrips> {
  const out: RoundTrips = { ms: [], checks: new Map(NAMES.map((n) => [n, { passes: 0, fails: 0 }])) };
  for (let i = 0; Date.now() < until; i++) {
    const t0 = performance.now();
    let verdicts: boolean[];
    try { verdicts = await once(cfg, i); } catch { verdicts = [false, false, false, false]; }
    out.ms.push(performance.now() - t0);
    verdicts.forEach((ok, k) => { const tally = out.checks.get(NAMES[k]!)!; if (ok) tally.passes++; else tally.fails++; });
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (performance.now() - t0))));
  }
  return out;
}
