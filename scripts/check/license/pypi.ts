/**
 * PyPI packages the scripts pip-install into the tools venv (kubernetes-validate and its dependencies): each
 * installed distribution's METADATA, License-Expression first, then License, then the License classifiers.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Entry } from './entry.js';
import { spdxFromName, toSpdx } from './spdx.js';

function sitePackages(venv: string): string[] {
  const lib = path.join(venv, 'lib');
  return existsSync(lib) ? readdirSync(lib).map((d) => path.join(lib, d, 'site-packages')).filter(existsSync) : [];
}

export function licenseOfMetadata(text: string): string {
  const head = text.split(/\r?\n\r?\n/)[0] ?? '';
  const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'mi').exec(head)?.[1]?.trim() ?? '';
  const expr = field('License-Expression');
  if (expr) return expr;
  const classifiers = [...head.matchAll(/^Classifier: License :: (.*)$/gm)].map((m) => m[1]!.split(' :: ').pop()!)
    .filter((c) => c !== 'OSI Approved');
  const fromClassifiers = [...new Set(classifiers.map((c) => spdxFromName(c) ?? `UNKNOWN(${c})`))];
  // A License field is free text: often an SPDX id, sometimes the whole license text (first line kept).
  const license = field('License');
  if (license && license.toUpperCase() !== 'UNKNOWN' && license.length < 100) return toSpdx(license);
  if (fromClassifiers.length) return fromClassifiers.join(' OR ');
  return license ? toSpdx(license.slice(0, 100)) : 'UNKNOWN';
}

export function pypiEntries(venv: string): Entry[] {
  const out: Entry[] = [];
  for (const site of sitePackages(venv)) {
    for (const d of readdirSync(site).filter((f) => f.endsWith('.dist-info')).sort()) {
      const meta = path.join(site, d, 'METADATA');
      if (!existsSync(meta)) continue;
      const text = readFileSync(meta, 'utf8');
      const name = /^Name: (.*)$/m.exec(text)?.[1]?.trim() ?? d;
      const version = /^Version: (.*)$/m.exec(text)?.[1]?.trim() ?? '?';
      out.push({ ecosystem: 'pypi', name, version, license: licenseOfMetadata(text), source: meta });
    }
  }
  return out;
}
