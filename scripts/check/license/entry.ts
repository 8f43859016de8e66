/** One dependency or tool the project installs, with the license its own metadata declares. */
export type Ecosystem = 'npm' | 'go' | 'maven' | 'pypi';

export interface Entry {
  ecosystem: Ecosystem;
  name: string;
  version: string;
  /** An SPDX expression where the metadata gives one (or one was recognised), else the raw text. */
  license: string;
  /** Where it was read: a package.json, LICENSE file, .pom or METADATA path. */
  source: string;
}
