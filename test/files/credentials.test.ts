import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { testConfig } from '../support/harness.js';
import { chatsSettings } from '../../src/settings.js';
import { createBodyStore } from '../../src/bodies/create.js';
import { BodyStoreUnavailable } from '../../src/bodies/body-store.js';
import { checkCreateOnly } from '../../src/bodies/create-only-check.js';
import { credentialChain } from '../../src/bodies/credentials/chain.js';
import { S3BodyStore } from '../../src/bodies/s3-store.js';
import { DEV_ACCESS_KEY, DEV_SECRET_KEY } from '../../src/bodies/settings.js';
import { ownPrefix } from './support.js';

/**
 * The S3 credential chain end to end: real local HTTP endpoints speaking the container-credentials, STS
 * (AssumeRoleWithWebIdentity) and IMDSv2 protocols hand out the shared versitygw's keys (`make s3-up`), and the
 * body store proves it can write, refuse, read and delete with them (the start-up check). Wrong keys from an
 * endpoint fail with 503: the keys really come from the chain.
 */
type Handler = (req: http.IncomingMessage, body: string) => { status: number; body: string } | null;

async function endpoint(handler: Handler): Promise<{ url: string; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      hits.push(`${req.method} ${req.url}`);
      const answer = handler(req, body) ?? { status: 404, body: 'no' };
      res.writeHead(answer.status).end(answer.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, hits, close: () => new Promise((r) => server.close(() => r())) };
}

/** versitygw has no STS: it takes its static keys and refuses any session token (InvalidToken), so none by default. */
const json = (keys: { id: string; secret: string }, expiresInMs: number, token?: string) => JSON.stringify({
  AccessKeyId: keys.id, SecretAccessKey: keys.secret, Token: token,
  Expiration: new Date(Date.now() + expiresInMs).toISOString(),
});
const DEV = { id: DEV_ACCESS_KEY, secret: DEV_SECRET_KEY };
const HOUR = 3_600_000;

describe('S3 credentials from the standard chain (against versitygw)', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'ephemera-creds-')); });
  after(() => { rmSync(dir, { recursive: true, force: true }); });
  const store = (env: Record<string, string>) =>
    createBodyStore(chatsSettings(testConfig({ CHAT_BODY_STORE: 's3', BODY_STORE_PREFIX: ownPrefix('creds'), ...env })).bodyStore)!;

  it('when container credentials are configured (full URI, token file), then the store signs with what the endpoint answers, fetched once while valid', async () => {
    const tokenFile = path.join(dir, 'pod-identity-token');
    writeFileSync(tokenFile, 'pod-token-abc\n');
    const ep = await endpoint((req) => (req.url === '/v1/credentials' && req.headers.authorization === 'pod-token-abc'
      ? { status: 200, body: json(DEV, HOUR) } : { status: 401, body: 'unauthorized' }));
    try {
      const s = store({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${ep.url}/v1/credentials`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile });
      await checkCreateOnly(s);
      await checkCreateOnly(s);
      assert.deepEqual(ep.hits, ['GET /v1/credentials']);
    } finally {
      await ep.close();
    }
  });

  it('when the credentials come within 5 minutes of expiry, then they are fetched again before the next request', async () => {
    const ep = await endpoint(() => ({ status: 200, body: json(DEV, 4 * 60_000) }));
    try {
      const s = store({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${ep.url}/creds`, AWS_CONTAINER_AUTHORIZATION_TOKEN: 't' });
      await checkCreateOnly(s);
      assert.ok(ep.hits.length >= 2, `fetched ${ep.hits.length} times`);
    } finally {
      await ep.close();
    }
  });

  it('when the endpoint hands out keys the store does not know, then body requests answer 503', async () => {
    const ep = await endpoint(() => ({ status: 200, body: json({ id: 'nobody', secret: 'wrong' }, HOUR) }));
    try {
      await assert.rejects(checkCreateOnly(store({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${ep.url}/creds` })),
        BodyStoreUnavailable);
    } finally {
      await ep.close();
    }
  });

  it('when the endpoint hands out a session token, then requests carry it (versitygw refuses it: InvalidToken)', async () => {
    const ep = await endpoint(() => ({ status: 200, body: json(DEV, HOUR, 'session-token-1') }));
    try {
      await assert.rejects(checkCreateOnly(store({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${ep.url}/creds` })),
        (err: unknown) => err instanceof BodyStoreUnavailable && /InvalidToken/.test(err.detail));
    } finally {
      await ep.close();
    }
  });

  it('when a web identity token and role are configured, then STS AssumeRoleWithWebIdentity is asked with them', async () => {
    const tokenFile = path.join(dir, 'irsa-token');
    writeFileSync(tokenFile, 'eyJ-web-identity');
    let form = new URLSearchParams();
    const ep = await endpoint((req, body) => {
      form = new URLSearchParams(body);
      if (req.method !== 'POST' || form.get('Action') !== 'AssumeRoleWithWebIdentity') return null;
      return { status: 200, body: `<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>
        <AccessKeyId>${DEV.id}</AccessKeyId><SecretAccessKey>${DEV.secret}</SecretAccessKey>
        <Expiration>${new Date(Date.now() + HOUR).toISOString()}</Expiration>
        </Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>` };
    });
    try {
      await checkCreateOnly(store({ AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: 'arn:aws:iam::123:role/bodies',
        AWS_ENDPOINT_URL_STS: ep.url, AWS_ROLE_SESSION_NAME: 'test-session' }));
      assert.equal(form.get('WebIdentityToken'), 'eyJ-web-identity');
      assert.equal(form.get('RoleArn'), 'arn:aws:iam::123:role/bodies');
      assert.equal(form.get('RoleSessionName'), 'test-session');
      assert.equal(ep.hits.length, 1);
    } finally {
      await ep.close();
    }
  });

  it('when only a shared-file profile is configured, then its keys are used', async () => {
    const file = path.join(dir, 'credentials');
    writeFileSync(file, `[default]\naws_access_key_id = nobody\naws_secret_access_key = wrong\n\n[bodies]\n`
      + `aws_access_key_id = ${DEV.id}\naws_secret_access_key = ${DEV.secret}\n`);
    await checkCreateOnly(store({ AWS_PROFILE: 'bodies', AWS_SHARED_CREDENTIALS_FILE: file }));
  });

  it('when nothing else is configured off this machine, then instance metadata (IMDSv2: token first) answers', async () => {
    const ep = await endpoint((req) => {
      if (req.method === 'PUT' && req.url === '/latest/api/token' && req.headers['x-aws-ec2-metadata-token-ttl-seconds']) {
        return { status: 200, body: 'imds-session' };
      }
      if (req.headers['x-aws-ec2-metadata-token'] !== 'imds-session') return { status: 401, body: '' };
      if (req.url === '/latest/meta-data/iam/security-credentials/') return { status: 200, body: 'bodies-role\n' };
      if (req.url === '/latest/meta-data/iam/security-credentials/bodies-role') {
        return { status: 200, body: JSON.stringify({ Code: 'Success', ...JSON.parse(json(DEV, HOUR)) }) };
      }
      return null;
    });
    try {
      const config = testConfig({ CHAT_BODY_STORE: 's3' });
      const credentials = credentialChain({ container: {}, profile: { credentialsFile: path.join(dir, 'none') },
        imds: { endpoint: ep.url, disabled: false }, region: 'us-east-1', localEndpoint: false,
        devKeys: { accessKeyId: 'unused', secretAccessKey: 'unused' } });
      assert.equal(credentials.name, 'instance-metadata');
      const s = new S3BodyStore({ endpoint: config.S3_ENDPOINT, region: config.S3_REGION, bucket: config.S3_BUCKET,
        pathStyle: true, credentials, timeoutMs: 10_000, maxInFlight: 4, prefix: ownPrefix('creds-imds') });
      await checkCreateOnly(s);
      assert.deepEqual(ep.hits, ['PUT /latest/api/token', 'GET /latest/meta-data/iam/security-credentials/',
        'GET /latest/meta-data/iam/security-credentials/bodies-role']);
    } finally {
      await ep.close();
    }
  });
});
