import type { Config } from '../config.js';
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
      // The standard environment credentials (a Kubernetes Secret mounted as env) when S3_* are not set.
      const own = config.S3_ACCESS_KEY_ID !== undefined;
      const aws = !own && config.AWS_ACCESS_KEY_ID !== undefined && config.AWS_SECRET_ACCESS_KEY !== undefined;
      return {
        kind: 's3',
        s3: {
          endpoint: config.S3_ENDPOINT, region: config.S3_REGION, bucket: config.S3_BUCKET, pathStyle: config.S3_PATH_STYLE,
          accessKeyId: own ? config.S3_ACCESS_KEY_ID! : aws ? config.AWS_ACCESS_KEY_ID! : DEV_ACCESS_KEY,
          secretAccessKey: own ? config.S3_SECRET_ACCESS_KEY! : aws ? config.AWS_SECRET_ACCESS_KEY! : DEV_SECRET_KEY,
          sessionToken: aws ? config.AWS_SESSION_TOKEN : undefined,
          timeoutMs: config.S3_REQUEST_TIMEOUT_MS, maxInFlight: config.S3_MAX_IN_FLIGHT, prefix: config.BODY_STORE_PREFIX,
        },
      };
    }
  }
}
