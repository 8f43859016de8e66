import { AppError } from '../errors.js';
import { searchDuration } from '../observability/search-metrics.js';
import { send, type TransportResponse } from './http-transport.js';

export interface OpenSearchOptions {
  url: string;
  username?: string;
  password?: string;
  /** Searches and small admin calls: short, so an outage answers a fast 503 instead of holding requests. */
  timeoutMs: number;
  /** Bulk writes carry up to a few MB; they get longer. */
  bulkTimeoutMs: number;
}

export interface OsResponse<T = unknown> { status: number; body: T }

interface RequestOptions {
  /** Statuses that are answers, not failures (e.g. 404 on "does it exist"). */
  accept?: number[];
  /** Body sent as-is (NDJSON for _bulk). */
  ndjson?: string;
  timeoutMs?: number;
}

export const searchUnavailable = (message = 'search is unavailable, retry later') =>
  new AppError(503, 'search_unavailable', message, { 'retry-after': '1' });

/** Statuses that mean "OpenSearch cannot serve now" rather than "we sent something wrong". */
const UNAVAILABLE_STATUSES = new Set([429, 502, 503, 504]);

/**
 * A thin OpenSearch REST client over fetch: JSON in, JSON out, one timeout per call, one metric per operation.
 * Network errors, timeouts, 429 and 5xx become AppError 503 `search_unavailable`; other 4xx are bugs (plain Error
 * with OpenSearch's reason, so they surface as 500 and in the logs).
 */
export class OpenSearchClient {
  private readonly base: string;
  private readonly auth?: string;

  constructor(readonly options: OpenSearchOptions) {
    this.base = options.url.replace(/\/+$/, '');
    if (options.username !== undefined) {
      this.auth = `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
    }
  }

  async request<T = unknown>(operation: string, method: string, path: string, body?: unknown,
    opts: RequestOptions = {}): Promise<OsResponse<T>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.auth) headers.authorization = this.auth;
    let payload: string | undefined;
    if (opts.ndjson !== undefined) {
      headers['content-type'] = 'application/x-ndjson';
      payload = opts.ndjson;
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const timeoutMs = opts.timeoutMs ?? this.options.timeoutMs;
    const end = searchDuration.startTimer({ operation });
    let res: TransportResponse;
    try {
      res = await send(new URL(`${this.base}${path}`), { method, headers, body: payload, timeoutMs });
    } catch (err) {
      end({ outcome: 'unavailable' });
      throw searchUnavailable(`search is unavailable (${(err as Error).message}), retry later`);
    }
    const { text } = res;
    const parsed = parseJson(text);
    if ((res.status >= 200 && res.status < 300) || opts.accept?.includes(res.status)) {
      end({ outcome: 'ok' });
      return { status: res.status, body: parsed as T };
    }
    // A missing index (search not migrated yet, or OpenSearch's data lost) cannot be fixed by the caller either.
    const missingIndex = res.status === 404 && errorReason(parsed).startsWith('index_not_found_exception');
    if (UNAVAILABLE_STATUSES.has(res.status) || missingIndex) {
      end({ outcome: 'unavailable' });
      throw searchUnavailable(`search is unavailable (OpenSearch answered ${res.status}), retry later`);
    }
    end({ outcome: 'error' });
    throw new Error(`OpenSearch ${method} ${path} answered ${res.status}: ${errorReason(parsed, text)}`);
  }
}

function parseJson(text: string): unknown {
  if (text === '') return {};
  try { return JSON.parse(text); } catch { return { raw: text.slice(0, 500) }; }
}

/** OpenSearch's `{error: {type, reason}}`, or the start of the raw body. */
export function errorReason(body: unknown, fallback = ''): string {
  const error = (body as { error?: unknown }).error;
  if (error && typeof error === 'object') {
    const e = error as { type?: string; reason?: string; root_cause?: Array<{ reason?: string }> };
    return `${e.type ?? 'error'}: ${e.reason ?? e.root_cause?.[0]?.reason ?? ''}`;
  }
  return typeof error === 'string' ? error : fallback.slice(0, 300);
}
