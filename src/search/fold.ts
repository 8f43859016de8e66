import { badRequest } from '../errors.js';

/**
 * Stands in for the backslash in folded text. OpenSearch 2.19's wildcard query misreads an escaped backslash
 * followed by a metacharacter (`*with\\*` matches nothing, while `*with\\` and `*\\s*` work; the regexp query
 * has the same flaw), and every substring pattern ends in `*`. So `\` never reaches a pattern: bodies and queries
 * both carry U+E05C (a private-use code point, which has no public meaning) instead. The one consequence: a body
 * holding U+E05C itself also matches a query with `\`, and the other way round.
 */
const BACKSLASH_STAND_IN = '\uE05C';

/**
 * The search key of a text: the same function folds message bodies (when indexing) and queries, so a substring
 * of one is a substring of the other whatever the case. OpenSearch's own `case_insensitive` folds ASCII only.
 *
 * NFC first, so composed and decomposed forms ("ä" as one or two code points) agree. Upper- then lower-casing
 * gives Unicode's full case folding for nearly every script: "ÄRGER" -> "ärger", "ß" -> "ss" (so "STRASSE"
 * finds "Straße"), "ﬁ" -> "fi". Final sigma is folded to σ as in Unicode's CaseFolding. Known over-match:
 * Turkish dotless ı folds like i (Unicode keeps them apart).
 */
export function foldText(text: string): string {
  return text.normalize('NFC').toUpperCase().toLowerCase().normalize('NFC')
    .replaceAll('ς', 'σ').replaceAll('\\', BACKSLASH_STAND_IN);
}

/** The wildcard pattern "contains `folded`": its metacharacters `*` and `?` escaped (folded text has no `\`). */
export const containsPattern = (folded: string): string => `*${folded.replace(/[*?]/g, (c) => `\\${c}`)}*`;

/** Validates a raw query: 1..maxChars code points, untrimmed (spaces are part of a substring). */
export function validateQuery(q: unknown, maxChars: number): string {
  if (typeof q !== 'string' || q.length === 0) throw badRequest('invalid_query', 'q must be a non-empty string');
  if (/\p{Surrogate}/u.test(q)) throw badRequest('invalid_query', 'q must be valid Unicode (no lone surrogates)');
  if ([...q].length > maxChars) throw badRequest('invalid_query', `q must be at most ${maxChars} characters`);
  return q;
}
