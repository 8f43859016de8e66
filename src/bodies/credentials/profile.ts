import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Credentials } from './types.js';

export interface ProfileSettings { profile?: string; credentialsFile?: string; configFile?: string; home?: string }

/** The sections of an INI file: `[name]` → key = value (`#` and `;` start comments). */
function ini(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (head) {
      current = new Map();
      sections.set(head[1]!, current);
    } else if (current !== null && line.includes('=')) {
      const i = line.indexOf('=');
      current.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
  }
  return sections;
}

const read = (file: string): string | null => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

/**
 * Static keys of a named profile (AWS_PROFILE, else `default`) from the shared files: `[name]` in
 * ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE), else `[profile name]` (or `[default]`) in ~/.aws/config
 * (AWS_CONFIG_FILE); the credentials file wins, as in the AWS tools. Null when neither holds keys for it. Read
 * once at start (the files are static; a profile with role_arn, sso_* or credential_process is not followed:
 * docs/file-storage.md).
 */
export function profileCredentials(s: ProfileSettings): Credentials | null {
  const home = s.home ?? os.homedir();
  const name = s.profile ?? 'default';
  const credentials = read(s.credentialsFile ?? path.join(home, '.aws', 'credentials'));
  const config = read(s.configFile ?? path.join(home, '.aws', 'config'));
  const sections = [credentials === null ? undefined : ini(credentials).get(name),
    config === null ? undefined : ini(config).get(name === 'default' ? 'default' : `profile ${name}`)];
  for (const section of sections) {
    const id = section?.get('aws_access_key_id');
    const secret = section?.get('aws_secret_access_key');
    if (id && secret) return { accessKeyId: id, secretAccessKey: secret, sessionToken: section?.get('aws_session_token') || undefined };
  }
  return null;
}
