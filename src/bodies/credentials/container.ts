import { promises as fsp } from 'node:fs';
import { CredentialsUnavailable, fetchText, fromJsonAnswer, type Credentials } from './types.js';

/** ECS task roles answer on this address; a relative URI is a path on it. */
const ECS_HOST = 'http://169.254.170.2';
const TIMEOUT_MS = 2_000;

export interface ContainerSettings { fullUri?: string; relativeUri?: string; token?: string; tokenFile?: string }

/** The credentials endpoint's URL, or null when this link of the chain is not configured. */
export function containerUri(s: ContainerSettings): string | null {
  if (s.relativeUri) return `${ECS_HOST}${s.relativeUri.startsWith('/') ? '' : '/'}${s.relativeUri}`;
  return s.fullUri ?? null;
}

/**
 * Container credentials (ECS task roles, EKS Pod Identity): GET the endpoint, with the Authorization header taken
 * from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read on every fetch: EKS rotates the file) or
 * AWS_CONTAINER_AUTHORIZATION_TOKEN; the answer is JSON {AccessKeyId, SecretAccessKey, Token, Expiration}.
 */
export function containerCredentials(uri: string, s: ContainerSettings): () => Promise<Credentials> {
  return async () => {
    const auth = s.tokenFile ? (await fsp.readFile(s.tokenFile, 'utf8').catch((err: Error) => {
      throw new CredentialsUnavailable(`container credentials: cannot read ${s.tokenFile}: ${err.message}`);
    })).trim() : s.token;
    const text = await fetchText('container credentials', uri,
      { headers: auth ? { authorization: auth } : {} }, TIMEOUT_MS);
    try {
      return fromJsonAnswer('container credentials', JSON.parse(text));
    } catch (err) {
      if (err instanceof CredentialsUnavailable) throw err;
      throw new CredentialsUnavailable('container credentials: the answer is not JSON');
    }
  };
}
