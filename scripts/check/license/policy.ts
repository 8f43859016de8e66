/**
 * Which licenses the project accepts. Allowed: permissive licenses and MPL-2.0 (file-level copyleft: only
 * changes to MPL files themselves must be shared). Forbidden, never excepted: AGPL, SSPL, BUSL and the Commons
 * Clause, which restrict running the software as a service or commercially. Anything else, and anything not
 * recognised, fails unless exceptions.ts names that package with that license and says why.
 */
import type { Entry } from './entry.js';
import { alternatives } from './spdx.js';
import { EXCEPTIONS, type Exception } from './exceptions.js';

export const ALLOWED = new Set([
  'MIT', 'MIT-0', 'BSD-2-Clause', 'BSD-3-Clause', 'ISC', 'Apache-2.0', 'MPL-2.0', '0BSD', 'Unlicense', 'CC0-1.0',
  'Python-2.0', 'PSF-2.0', 'BlueOak-1.0.0', // PSF-2.0: the Python Software Foundation license, permissive like Python-2.0
]);

const FORBIDDEN = /AGPL|SSPL|BUSL|Commons-Clause/i;

export interface Verdict { entry: Entry; ok: boolean; why: string }

export function judge(entry: Entry, exceptions: readonly Exception[] = EXCEPTIONS): Verdict {
  const alts = alternatives(entry.license);
  const allowed = alts.find((ids) => ids.length > 0 && ids.every((id) => ALLOWED.has(id)));
  if (allowed) return { entry, ok: true, why: allowed.join(' AND ') };
  if (FORBIDDEN.test(entry.license)) return { entry, ok: false, why: `forbidden license ${entry.license}` };
  const ex = exceptions.find((e) => e.ecosystem === entry.ecosystem && e.name.test(entry.name) && e.license === entry.license);
  if (ex) return { entry, ok: true, why: `exception: ${ex.why}` };
  return {
    entry, ok: false,
    why: entry.license.startsWith('UNKNOWN') ? `unrecognised license ${entry.license}` : `license ${entry.license} is not on the allow-list`,
  };
}
