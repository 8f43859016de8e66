import type { Config } from '../config.js';
import { credentialChain, isLocalEndpoint } from './credentials/chain.js';
import type { S3Settings } from './s3-store.js';

/** The local versitygw's development keys (scripts/dev/s3.sh): used only when no credentials are configured. */
export const DEV_ACCESS_KEY = 'ephemera-dev';
export const DEV_SECRET_KEY = 'ephemera-dev-secret';

/** The part of the configuration the body store uses. */
export type BodyStoreSettings =
  | { kind: 'cassandra' }
  | { kind: 'fs'; dir: string; prefix: string }
  | { kind: 's3'; s3: S3Settings };

export function bodyStoreSettings(config: Config): BodyStoreSettings {
  switch (config.CHAT_BODY_STORE) {
    case 'cassandra': return { kind: 'cassandra' };
    case 'fs': return { kind: 'fs', dir: config.BODY_STORE_DIR, prefix: config.BODY_STORE_PREFIX };
    case 's3': {
      const c = config;
      const credentials = credentialChain({
        own: c.S3_ACCESS_KEY_ID !== undefined
          ? { accessKeyId: c.S3_ACCESS_KEY_ID, secretAccessKey: c.S3_SECRET_ACCESS_KEY! } : undefined,
        env: c.AWS_ACCESS_KEY_ID !== undefined && c.AWS_SECRET_ACCESS_KEY !== undefined
          ? { accessKeyId: c.AWS_ACCESS_KEY_ID, secretAccessKey: c.AWS_SECRET_ACCESS_KEY, sessionToken: c.AWS_SESSION_TOKEN }
          : undefined,
        profile: { profile: c.AWS_PROFILE, credentialsFile: c.AWS_SHARED_CREDENTIALS_FILE, configFile: c.AWS_CONFIG_FILE },
        webIdentity: { tokenFile: c.AWS_WEB_IDENTITY_TOKEN_FILE, roleArn: c.AWS_ROLE_ARN,
          sessionName: c.AWS_ROLE_SESSION_NAME, endpoint: c.AWS_ENDPOINT_URL_STS },
        container: { fullUri: c.AWS_CONTAINER_CREDENTIALS_FULL_URI, relativeUri: c.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
          token: c.AWS_CONTAINER_AUTHORIZATION_TOKEN, tokenFile: c.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE },
        imds: { endpoint: c.AWS_EC2_METADATA_SERVICE_ENDPOINT, disabled: c.AWS_EC2_METADATA_DISABLED },
        region: c.S3_REGION, localEndpoint: isLocalEndpoint(c.S3_ENDPOINT),
        devKeys: { accessKeyId: DEV_ACCESS_KEY, secretAccessKey: DEV_SECRET_KEY },
      });
      return {
        kind: 's3',
        s3: {
          endpoint: c.S3_ENDPOINT, region: c.S3_REGION, bucket: c.S3_BUCKET, pathStyle: c.S3_PATH_STYLE, credentials,
          timeoutMs: c.S3_REQUEST_TIMEOUT_MS, maxInFlight: c.S3_MAX_IN_FLIGHT, prefix: c.BODY_STORE_PREFIX,
        },
      };
    }
  }
}
