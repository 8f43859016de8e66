/**
 * The production npm dependencies and their transitive closure: every package-lock.json entry not marked
 * "dev" (what `npm ci --omit=dev` installs), with the license read from the installed package's own
 * package.json (the lockfile's copy where an optional platform package is not installed here).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Entry } from './entry.js';
import { toSpdx } from './spdx.js';

interface LockPackage { version?: string; license?: string; dev?: boolean; link?: boolean }
interface PackageJson { name?: string; version?: string; license?: unknown; licenses?: unknown }

/** `license` as npm has written it over the years: a string, {type}, or a legacy `licenses` array (OR). */
function licenseOf(pkg: PackageJson | LockPackage): string | null {
  const l = (pkg as PackageJson).license ?? (pkg as PackageJson).licenses;
  const one = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'object' && v && 'type' in v ? String((v as { type: unknown }).type) : '');
  if (Array.isArray(l)) return l.map(one).filter(Boolean).join(' OR ') || null;
  return one(l) || null;
}

export function npmEntries(root: string): Entry[] {
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> };
  const out: Entry[] = [];
  for (const [where, meta] of Object.entries(lock.packages)) {
    if (where === '' || meta.dev || meta.link) continue;
    const pj = path.join(root, where, 'package.json');
    const installed = existsSync(pj) ? (JSON.parse(readFileSync(pj, 'utf8')) as PackageJson) : null;
    const raw = (installed && licenseOf(installed)) ?? licenseOf(meta) ?? '';
    out.push({
      ecosystem: 'npm',
      name: installed?.name ?? where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length),
      version: installed?.version ?? meta.version ?? '?',
      license: toSpdx(raw),
      source: installed ? path.relative(root, pj) : `package-lock.json ${where}`,
    });
  }
  return out;
}
