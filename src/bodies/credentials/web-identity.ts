import { promises as fsp } from 'node:fs';
import { CredentialsUnavailable, fetchText, type Credentials } from './types.js';

const TIMEOUT_MS = 5_000;

export interface WebIdentitySettings {
  tokenFile: string;
  roleArn: string;
  sessionName?: string;
  /** The STS endpoint (AWS_ENDPOINT_URL_STS); else the region's. */
  endpoint?: string;
  region: string;
}

const tag = (xml: string, name: string): string | undefined =>
  new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

/**
 * Web identity (EKS IRSA and any OIDC federation): STS AssumeRoleWithWebIdentity with the token file's content
 * (re-read on every fetch: the kubelet rotates it). The call is not signed (the token is the proof); the answer
 * is XML with AccessKeyId, SecretAccessKey, SessionToken and Expiration (1 hour by default).
 */
export function webIdentityCredentials(s: WebIdentitySettings): () => Promise<Credentials> {
  const endpoint = s.endpoint ?? `https://sts.${s.region}.amazonaws.com`;
  return async () => {
    const token = (await fsp.readFile(s.tokenFile, 'utf8').catch((err: Error) => {
      throw new CredentialsUnavailable(`web identity: cannot read ${s.tokenFile}: ${err.message}`);
    })).trim();
    const form = new URLSearchParams({ Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: s.roleArn,
      RoleSessionName: s.sessionName ?? `ephemera-${Date.now()}`, WebIdentityToken: token });
    const xml = await fetchText('web identity', `${endpoint.replace(/\/$/, '')}/`, {
      method: 'POST', body: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/xml' },
    }, TIMEOUT_MS);
    const accessKeyId = tag(xml, 'AccessKeyId');
    const secretAccessKey = tag(xml, 'SecretAccessKey');
    const expiration = tag(xml, 'Expiration');
    if (!accessKeyId || !secretAccessKey) throw new CredentialsUnavailable('web identity: the STS answer has no credentials');
    const expiresAt = expiration ? Date.parse(expiration) : undefined;
    return { accessKeyId, secretAccessKey, sessionToken: tag(xml, 'SessionToken'),
      expiresAt: Number.isNaN(expiresAt) ? undefined : expiresAt };
  };
}
