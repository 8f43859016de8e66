import type { S3Settings } from './s3-store.js';

/** The local versitygw's development keys (scripts/dev/s3.sh): used only when no credentials are configured. */
export const DEV_ACCESS_KEY = 'ephemera-dev';
export const DEV_SECRET_KEY = 'ephemera-dev-secret';

/** The part of the configuration the body store uses. */
export type BodyStoreSettings =
  | { kind: 'cassandra' }
  | { kind: 'fs'; dir: string; prefix: string }
  | { kind: 's3'; s3: S3Settings };
