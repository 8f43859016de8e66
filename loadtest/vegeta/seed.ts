/**
 * Messages created before the attack, so GET /chat/:id reads ids that exist from the first request on
 * (vegeta sends what it is given and cannot feed one response's id into a later request).
 */
import type { LoadConfig } from './config.js';

export async function seedIds(cfg: LoadConfig, n = cfg.seedIds, concurrency = 16): Promise<number[]> {
  const ids: number[] = [];
  let next = 0;
  const one = async (i: number) => {
    const body = JSON.stringify({ username: `${cfg.prefix}-user-${1 + (i % cfg.users)}`, text: `seed ${i}`, timeout: 3600 });
    let res: Response;
    try {
      res = await fetch(`${cfg.baseUrl}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    } catch (err) {
      throw new Error(`seeding: POST ${cfg.baseUrl}/chat failed: ${(err as Error).message} (is the service running? BASE_URL)`, { cause: err });
    }
    const text = await res.text();
    const id = res.status === 201 ? (JSON.parse(text) as { id?: unknown }).id : undefined;
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
      throw new Error(`seeding: POST ${cfg.baseUrl}/chat answered ${res.status} ${text.slice(0, 200)}`);
    }
    ids.push(id);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (next < n) await one(next++);
  }));
  return ids;
}
