/**
 * Maven artifacts the scripts resolve (Cassandra's server classpath; other servers add their jar directories
 * or coordinates): each jar is found in the local Maven repository by its file name, and its license read from
 * the <licenses> of its .pom, else of the nearest parent .pom that has them. Several <license> elements are
 * read as alternatives (OR), which is how the projects that list several (logback, jnr, jna) offer them.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Entry } from './entry.js';
import { toSpdx } from './spdx.js';

const tag = (xml: string, name: string) => new RegExp(`<${name}>\\s*([^<]*?)\\s*</${name}>`).exec(xml)?.[1] ?? '';

/** file name -> directory, for every jar under the local repository (built once, ~1 s for a few thousand jars). */
function jarIndex(repo: string): Map<string, string> {
  const index = new Map<string, string>();
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const p = path.join(dir, f);
      if (f.endsWith('.jar')) index.set(f, dir);
      else if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) walk(p);
    }
  };
  walk(repo);
  return index;
}

function pomPath(repo: string, group: string, artifact: string, version: string): string {
  return path.join(repo, ...group.split('.'), artifact, version, `${artifact}-${version}.pom`);
}

/** The license names of a pom, following <parent> until one declares some. */
function licensesOfPom(repo: string, pom: string, depth = 0): { names: string[]; from: string } {
  const xml = readFileSync(pom, 'utf8').replace(/<!--[\s\S]*?-->/g, '');
  const block = /<licenses>([\s\S]*?)<\/licenses>/.exec(xml)?.[1];
  if (block) {
    const names = [...block.matchAll(/<license>([\s\S]*?)<\/license>/g)].map((m) => tag(m[1]!, 'name') || tag(m[1]!, 'url'));
    if (names.length) return { names, from: pom };
  }
  const parent = /<parent>([\s\S]*?)<\/parent>/.exec(xml)?.[1];
  if (parent && depth < 10) {
    const p = pomPath(repo, tag(parent, 'groupId'), tag(parent, 'artifactId'), tag(parent, 'version'));
    if (existsSync(p)) return licensesOfPom(repo, p, depth + 1);
    return { names: [], from: `${pom} (parent ${path.basename(p)} not in the local repository)` };
  }
  return { names: [], from: pom };
}

function entryForPom(repo: string, pom: string, name: string, version: string): Entry {
  const { names, from } = licensesOfPom(repo, pom);
  const ids = names.map(toSpdx);
  return {
    ecosystem: 'maven', name, version,
    license: ids.length ? [...new Set(ids)].join(' OR ') : 'UNKNOWN(no <licenses> in the pom or its parents)',
    source: from,
  };
}

/** Every jar in `libDirs` (copy-dependencies output), judged by its pom; `coords` are extra group:artifact:version. */
export function mavenEntries(repo: string, libDirs: string[], coords: string[] = []): Entry[] {
  const out: Entry[] = [];
  if (libDirs.length) {
    const index = jarIndex(repo);
    for (const dir of libDirs) {
      for (const jar of readdirSync(dir).filter((f) => f.endsWith('.jar')).sort()) {
        const where = index.get(jar);
        if (!where) {
          out.push({ ecosystem: 'maven', name: jar, version: '?', license: 'UNKNOWN(jar not found in the local Maven repository)', source: dir });
          continue;
        }
        const version = path.basename(where);
        const artifact = path.basename(path.dirname(where));
        const group = path.relative(repo, path.dirname(path.dirname(where))).split(path.sep).join('.');
        out.push(entryForPom(repo, path.join(where, `${artifact}-${version}.pom`), `${group}:${artifact}`, version));
      }
    }
  }
  for (const c of coords) {
    const [group, artifact, version] = c.split(':');
    if (!group || !artifact || !version) throw new Error(`maven coordinate must be group:artifact:version, got "${c}"`);
    const pom = pomPath(repo, group, artifact, version);
    if (!existsSync(pom)) throw new Error(`${c}: no ${pom} (resolve it first)`);
    out.push(entryForPom(repo, pom, `${group}:${artifact}`, version));
  }
  // The same artifact in two directories (two servers) is judged once.
  return [...new Map(out.map((e) => [`${e.name}@${e.version}`, e])).values()];
}
