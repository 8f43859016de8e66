import { CredentialsUnavailable, type CredentialSource, type Credentials } from './types.js';

/**
 * Refresh this long before temporary credentials expire. STS, ECS, EKS and IMDS hand out credentials valid for
 * 1-12 hours and rotate them at least 5 minutes before expiry; 5 minutes also covers the longest S3 request (a
 * streamed body) that is signed just before the refresh.
 */
export const REFRESH_BEFORE_MS = 5 * 60_000;
/** After a failed refresh while the old credentials are still valid, try again at most this often. */
const RETRY_MS = 10_000;

/**
 * Caches the credentials a fetch returns and fetches new ones when they come within REFRESH_BEFORE_MS of their
 * expiry (credentials without one are fetched once). Concurrent callers share one fetch. A failed refresh keeps
 * the old credentials while they are valid (an endpoint's hiccup must not fail requests that could still be
 * signed) and is retried after RETRY_MS; once they expired, the failure is the caller's (503).
 */
export class RefreshingSource implements CredentialSource {
  private current: Credentials | null = null;
  private pending: Promise<Credentials> | null = null;
  private lastFailure = 0;

  constructor(readonly name: string, private readonly fetch: () => Promise<Credentials>,
    private readonly now: () => number = Date.now) {}

  async get(): Promise<Credentials> {
    const c = this.current;
    if (c !== null && (c.expiresAt === undefined || c.expiresAt - this.now() > REFRESH_BEFORE_MS)) return c;
    const usable = c !== null && c.expiresAt! > this.now();
    if (usable && this.now() - this.lastFailure < RETRY_MS) return c;
    this.pending ??= this.fetch().then((fresh) => { this.current = fresh; return fresh; })
      .finally(() => { this.pending = null; });
    try {
      return await this.pending;
    } catch (err) {
      this.lastFailure = this.now();
      if (usable) return c;
      throw err instanceof CredentialsUnavailable ? err : new CredentialsUnavailable((err as Error).message);
    }
  }
}

/** Credentials that never change (static keys). */
export const fixed = (name: string, c: Credentials): CredentialSource => ({ name, get: () => Promise.resolve(c) });
