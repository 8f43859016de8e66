/**
 * License names as package metadata writes them (Maven <name>, PyPI classifiers, npm strings, LICENSE texts)
 * turned into SPDX ids, and SPDX expressions split into alternatives.
 */

/** [pattern over a free-text license name, SPDX id]; first match wins, so the narrow ones come first. */
const NAMES: Array<[RegExp, string]> = [
  [/affero|\bagpl/i, 'AGPL-3.0'],
  [/server side public|\bsspl/i, 'SSPL-1.0'],
  [/business source|\bbusl|\bbsl-1/i, 'BUSL-1.1'],
  [/commons[- ]clause/i, 'Commons-Clause'],
  [/lesser general public|library general public|\blgpl/i, 'LGPL-2.1-or-later'],
  [/general public license|\bgpl/i, 'GPL'],
  [/apache/i, 'Apache-2.0'],
  [/mozilla public license,?\s*(version|v\.?)?\s*2(\.0)?|\bmpl[- ]?2/i, 'MPL-2.0'],
  [/eclipse public license\s*[-,]?\s*(version|v)?\s*2|\bepl[- ]?2/i, 'EPL-2.0'],
  [/eclipse public license|\bepl\b|\bepl[- ]?1/i, 'EPL-1.0'],
  [/eclipse distribution license|\bedl\b/i, 'BSD-3-Clause'], // EDL 1.0 is the BSD-3-Clause text
  [/common development and distribution|\bcddl/i, 'CDDL-1.1'],
  [/\bmit\b|expat/i, 'MIT'],
  [/bouncy castle/i, 'MIT'], // the Bouncy Castle licence is the MIT text
  [/0bsd|zero-clause bsd/i, '0BSD'],
  [/bsd[- ]?2|simplified bsd|freebsd/i, 'BSD-2-Clause'],
  [/bsd|new bsd|revised bsd/i, 'BSD-3-Clause'],
  [/\bisc\b/i, 'ISC'],
  [/unlicense/i, 'Unlicense'],
  [/cc0|public domain dedication/i, 'CC0-1.0'],
  [/python software foundation|\bpsf\b|python-2\.0/i, 'Python-2.0'],
  [/blue ?oak/i, 'BlueOak-1.0.0'],
  [/public domain/i, 'Public-Domain'],
];

const SPDX_ID = /^[A-Za-z0-9.+-]+$/;

/** An SPDX id for a free-text name, or null when none is recognised. */
export function spdxFromName(name: string): string | null {
  const trimmed = name.trim();
  if (trimmed === '') return null;
  for (const [re, id] of NAMES) if (re.test(trimmed)) return id;
  return null;
}

/**
 * The alternatives of an SPDX expression, each a list of ids that all apply: "MIT OR (Apache-2.0 AND BSD-3-Clause)"
 * -> [["MIT"], ["Apache-2.0", "BSD-3-Clause"]]. "X WITH exception" keeps X. Not a full grammar: parentheses
 * are flattened, which is exact for the forms npm packages use (A OR B, (A AND B), A AND (B OR C) is rare and
 * judged strictly as needing every id).
 */
export function alternatives(expr: string): string[][] {
  const cleaned = expr.replace(/\s+WITH\s+[A-Za-z0-9.+-]+/g, '').trim();
  if (/\bAND\b[^()]*\(.*\bOR\b/.test(cleaned) || /\bOR\b[^()]*\)\s*AND\b/.test(cleaned)) {
    // A AND (B OR C): require every id, the strict reading.
    return [cleaned.replace(/[()]/g, ' ').split(/\s+(?:AND|OR)\s+/).map((s) => s.trim()).filter(Boolean)];
  }
  return cleaned.replace(/[()]/g, ' ').split(/\s+OR\s+/).map((alt) => alt.split(/\s+AND\s+/).map((s) => s.trim()).filter(Boolean));
}

/** A license string from metadata as an SPDX expression: kept when it already is one, else recognised by name. */
export function toSpdx(raw: string): string {
  const t = raw.trim();
  if (t === '') return 'UNKNOWN';
  const ids = t.replace(/[()]/g, ' ').split(/\s+(?:AND|OR|WITH)\s+/).map((s) => s.trim()).filter(Boolean);
  if (ids.every((id) => SPDX_ID.test(id) && /\d|^(MIT|ISC|Unlicense|0BSD|BlueOak)/.test(id))) return t;
  if (/^(MIT|ISC|Unlicense|0BSD)$/i.test(t)) return t.toUpperCase() === 'UNLICENSE' ? 'Unlicense' : t.toUpperCase();
  return spdxFromName(t) ?? `UNKNOWN(${t})`;
}
