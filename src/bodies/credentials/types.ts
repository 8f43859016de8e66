/** One set of AWS credentials; `expiresAt` (ms since the epoch) for temporary ones. */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiresAt?: number;
}

/** Where credentials come from: answers the current ones (refreshed before they expire). */
export interface CredentialSource {
  /** Which link of the chain answered (logged at start: "static", "environment", "web-identity", ...). */
  readonly name: string;
  get(): Promise<Credentials>;
}

/** No credentials could be had (the source failed or answered nonsense): body requests answer 503. */
export class CredentialsUnavailable extends Error {}

/** The answer of a credential endpoint in the JSON shape ECS, EKS Pod Identity and IMDS share. */
export function fromJsonAnswer(what: string, raw: unknown): Credentials {
  const o = raw as Record<string, unknown> | null;
  const text = (k: string) => (o !== null && typeof o[k] === 'string' && o[k] !== '' ? o[k] : undefined);
  const accessKeyId = text('AccessKeyId');
  const secretAccessKey = text('SecretAccessKey');
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    throw new CredentialsUnavailable(`${what}: the answer has no AccessKeyId/SecretAccessKey`);
  }
  const expiration = text('Expiration');
  const expiresAt = expiration === undefined ? undefined : Date.parse(expiration);
  if (expiresAt !== undefined && Number.isNaN(expiresAt)) throw new CredentialsUnavailable(`${what}: bad Expiration ${expiration}`);
  return { accessKeyId, secretAccessKey, sessionToken: text('Token'), expiresAt };
}

/** GET/PUT with a bound; the answer's text, or CredentialsUnavailable. */
export async function fetchText(what: string, url: string, init: RequestInit, timeoutMs: number): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new CredentialsUnavailable(`${what}: ${(err as Error).message}`);
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) throw new CredentialsUnavailable(`${what}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return text;
}
