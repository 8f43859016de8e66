/**
 * Packages allowed with a license outside policy.ts's allow-list, each with the reason. An exception names
 * the ecosystem, the package (a pattern) and the exact license string the gate reads, so a changed license
 * is judged again. Forbidden licenses (AGPL, SSPL, BUSL, Commons Clause) cannot be excepted.
 *
 * The entries are part of Cassandra's or OpenSearch's own server classpath (scripts/dev/cassandra.sh resolves it with Maven).
 * Cassandra runs as a separate, unmodified program for local development and tests; none of its jars is linked
 * into Ephemera or shipped in its container image (the image holds the Node service only). EPL and LGPL are
 * weak copyleft: their obligations concern modified copies of those files and distribution, neither of which
 * happens here. Were the project ever to ship Cassandra itself, these two would need a fresh look.
 */
import type { Ecosystem } from './entry.js';

export interface Exception { ecosystem: Ecosystem; name: RegExp; license: string; why: string }

export const EXCEPTIONS: readonly Exception[] = [
  {
    ecosystem: 'maven', name: /^org\.eclipse\.jdt:ecj$/, license: 'EPL-2.0',
    why: "Cassandra's Java compiler for user-defined functions; run unmodified inside the local Cassandra, not shipped",
  },
  {
    ecosystem: 'maven', name: /^ch\.qos\.logback:logback-(classic|core)$/, license: 'EPL-1.0 OR LGPL-2.1-or-later',
    why: "Cassandra's logging backend; run unmodified inside the local Cassandra, not shipped",
  },
  {
    ecosystem: 'maven', name: /^jakarta\.annotation:jakarta\.annotation-api$/,
    license: 'EPL-2.0 OR GPL', // the pom names "GPL2 w/ CPE": GPL-2.0 with the Classpath Exception
    why: "OpenSearch's annotation API; run unmodified inside the local OpenSearch, not shipped",
  },
];
