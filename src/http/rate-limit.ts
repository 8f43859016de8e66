import type { Context, Next } from 'koa';
import { AppError } from '../errors.js';

/** Token bucket per key, refilled continuously; the map is capped so that a flood of keys cannot grow it unbounded. */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly rate: number, private readonly burst: number, private readonly maxKeys = 100_000) {}

  /** 0 when allowed; otherwise the seconds until a token is available. */
  take(key: string, now = Date.now()): number {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / this.rate);
  }
}

const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Optional abuse guards (off by default), answering 429 with Retry-After. Limits are per process; a global
 * limit belongs in the ingress or API gateway.
 */
export function clientRateLimit(rps: number, burstSeconds: number) {
  const buckets = new TokenBuckets(rps, Math.max(1, rps * burstSeconds));
  return async function limitClient(ctx: Context, next: Next): Promise<void> {
    if (PROBES.has(ctx.path)) return next();
    const wait = buckets.take(ctx.ip);
    if (wait) throw new AppError(429, 'rate_limited', 'too many requests from this client', { 'retry-after': String(wait) });
    await next();
  };
}

export function usernameLimiter(rps: number, burstSeconds: number) {
  const buckets = rps > 0 ? new TokenBuckets(rps, Math.max(1, rps * burstSeconds)) : null;
  return (username: string): void => {
    const wait = buckets?.take(username) ?? 0;
    if (wait) throw new AppError(429, 'rate_limited', 'too many requests for this username', { 'retry-after': String(wait) });
  };
}

/**
 * One route's limit per client address, `perMinute` refilled continuously up to `burst` (POST /applications:
 * RATE_LIMIT_APPLICATION_CREATES_*, on by default). One instance shared by both mounts, so /api/applications is
 * not a second allowance. 0 per minute: no limit.
 */
export function routeRateLimit(perMinute: number, burst: number, what: string) {
  const buckets = perMinute > 0 ? new TokenBuckets(perMinute / 60, burst) : null;
  return async function limitRoute(ctx: Context, next: Next): Promise<void> {
    const wait = buckets?.take(ctx.ip) ?? 0;
    if (wait) throw new AppError(429, 'rate_limited', `too many ${what} from this client`, { 'retry-after': String(wait) });
    await next();
  };
}
