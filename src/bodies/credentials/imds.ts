import { fetchText, fromJsonAnswer, CredentialsUnavailable, type Credentials } from './types.js';

/** The instance metadata service; AWS_EC2_METADATA_SERVICE_ENDPOINT overrides it. */
export const IMDS_ENDPOINT = 'http://169.254.169.254';
/** IMDS answers in a few ms on an instance; off one, the address does not answer at all: fail fast. */
const TIMEOUT_MS = 1_000;
/** The session token's lifetime (IMDSv2 allows up to 6 hours); one token per fetch is enough. */
const TOKEN_TTL_S = 21_600;

/**
 * IMDSv2: PUT /latest/api/token (a session token; IMDSv1's plain GETs are refused on instances that require v2,
 * and v2 is what AWS recommends), then the role name from /latest/meta-data/iam/security-credentials/ and that
 * role's credentials (JSON, rotated by AWS at least 5 minutes before Expiration).
 */
export function imdsCredentials(endpoint: string): () => Promise<Credentials> {
  const base = endpoint.replace(/\/$/, '');
  return async () => {
    const token = await fetchText('instance metadata (token)', `${base}/latest/api/token`,
      { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_S) } }, TIMEOUT_MS);
    const headers = { 'x-aws-ec2-metadata-token': token.trim() };
    const roles = await fetchText('instance metadata (role)', `${base}/latest/meta-data/iam/security-credentials/`,
      { headers }, TIMEOUT_MS);
    const role = roles.split('\n').map((r) => r.trim()).find((r) => r !== '');
    if (!role) throw new CredentialsUnavailable('instance metadata: the instance has no IAM role');
    const text = await fetchText('instance metadata (credentials)',
      `${base}/latest/meta-data/iam/security-credentials/${encodeURIComponent(role)}`, { headers }, TIMEOUT_MS);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CredentialsUnavailable('instance metadata: the answer is not JSON');
    }
    return fromJsonAnswer('instance metadata', parsed);
  };
}
