import { containerCredentials, containerUri, type ContainerSettings } from './container.js';
import { IMDS_ENDPOINT, imdsCredentials } from './imds.js';
import { profileCredentials, type ProfileSettings } from './profile.js';
import { fixed, RefreshingSource } from './refreshing.js';
import type { CredentialSource, Credentials } from './types.js';
import { webIdentityCredentials } from './web-identity.js';

/** Everything the chain looks at, from the configuration (the standard AWS_* variable names). */
export interface ChainSettings {
  /** S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY: this service's own keys, ahead of the chain. */
  own?: Credentials;
  /** AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. */
  env?: Credentials;
  /** AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME, AWS_ENDPOINT_URL_STS). */
  webIdentity?: { tokenFile?: string; roleArn?: string; sessionName?: string; endpoint?: string };
  /** AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE). */
  container: ContainerSettings;
  /** AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE. */
  profile: ProfileSettings;
  /** AWS_EC2_METADATA_SERVICE_ENDPOINT; AWS_EC2_METADATA_DISABLED=true skips instance metadata. */
  imds: { endpoint?: string; disabled: boolean };
  region: string;
  /** The S3 endpoint is on this machine (a development server): see below. */
  localEndpoint: boolean;
  /** What a local endpoint gets when nothing is configured (the local versitygw's development keys). */
  devKeys: Credentials;
}

/**
 * The standard credential chain, in the AWS SDKs' order, first configured link wins: this service's own keys,
 * the AWS_* environment, a shared-file profile, web identity (IRSA), container credentials (ECS, EKS Pod
 * Identity), instance metadata (IMDSv2). Links that fetch temporary credentials are refreshed before expiry
 * (RefreshingSource). Two departures, both for development machines: with a local endpoint (127.0.0.1, ::1,
 * localhost) the default ~/.aws files are not read unless AWS_PROFILE or a file variable names them (a
 * developer's AWS keys are not the local server's), and the development keys take the place of instance
 * metadata (whose link-local address no local setup has; asking it would only cost a second at start).
 */
export function credentialChain(s: ChainSettings): CredentialSource {
  if (s.own) return fixed('static', s.own);
  if (s.env) return fixed('environment', s.env);
  const explicitProfile = s.profile.profile !== undefined || s.profile.credentialsFile !== undefined
    || s.profile.configFile !== undefined;
  if (explicitProfile || !s.localEndpoint) {
    const keys = profileCredentials(s.profile);
    if (keys) return fixed(`profile ${s.profile.profile ?? 'default'}`, keys);
  }
  const w = s.webIdentity;
  if (w?.tokenFile && w.roleArn) {
    return new RefreshingSource('web-identity', webIdentityCredentials({ tokenFile: w.tokenFile, roleArn: w.roleArn,
      sessionName: w.sessionName, endpoint: w.endpoint, region: s.region }));
  }
  const uri = containerUri(s.container);
  if (uri !== null) return new RefreshingSource('container', containerCredentials(uri, s.container));
  if (s.localEndpoint || s.imds.disabled) return fixed('development keys', s.devKeys);
  return new RefreshingSource('instance-metadata', imdsCredentials(s.imds.endpoint ?? IMDS_ENDPOINT));
}

/** 127.0.0.0/8, ::1 and localhost. */
export function isLocalEndpoint(endpoint: string): boolean {
  const host = new URL(endpoint).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
