/**
 * `make license-check`: every production npm package (with its transitive closure), every Go module in the
 * tools the scripts build, every Maven artifact and PyPI package the scripts install has an allowed license
 * (policy.ts), read from the packages' own metadata. Exit 1 naming each package that fails and its license.
 *
 *   node --import tsx scripts/check/license/gate.ts [--npm-root DIR] [--go-bin FILE]... [--maven-lib DIR]...
 *     [--maven-coord g:a:v]... [--maven-repo DIR] [--venv DIR] [--entries FILE.json] [--only-given] [--verbose]
 *
 * Without --only-given the defaults of sources.ts are read as well; --entries adds entries from a JSON array
 * (what the negative-control test feeds it).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Entry } from './entry.js';
import { judge } from './policy.js';
import { npmEntries } from './npm.js';
import { goEntries } from './go.js';
import { mavenEntries } from './maven.js';
import { pypiEntries } from './pypi.js';
import { goBinaries, mavenLibDirs, MAVEN_REPO, VENV } from './sources.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function parseArgs(argv: string[]) {
  const a = { npmRoot: [] as string[], goBin: [] as string[], mavenLib: [] as string[], mavenCoord: [] as string[],
    mavenRepo: MAVEN_REPO, venv: [] as string[], entries: [] as string[], onlyGiven: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const v = () => { const x = argv[++i]; if (x === undefined) throw new Error(`${argv[i - 1]} needs a value`); return x; };
    switch (argv[i]) {
      case '--npm-root': a.npmRoot.push(v()); break;
      case '--go-bin': a.goBin.push(v()); break;
      case '--maven-lib': a.mavenLib.push(v()); break;
      case '--maven-coord': a.mavenCoord.push(v()); break;
      case '--maven-repo': a.mavenRepo = v(); break;
      case '--venv': a.venv.push(v()); break;
      case '--entries': a.entries.push(v()); break;
      case '--only-given': a.onlyGiven = true; break;
      case '--verbose': a.verbose = true; break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  return a;
}

function main(): number {
  const a = parseArgs(process.argv.slice(2));
  const problems: string[] = [];
  if (!a.onlyGiven) {
    a.npmRoot.push(ROOT);
    const go = goBinaries();
    a.goBin.push(...go.present);
    for (const m of go.missing) problems.push(`${m} is not built: run scripts/dev/tools.sh ${path.basename(m)} first`);
    const libs = mavenLibDirs();
    if (!libs.length) problems.push('no Cassandra jars under the cache: run scripts/dev/cassandra.sh up first');
    a.mavenLib.push(...libs);
    if (existsSync(path.join(VENV, 'bin', 'python'))) a.venv.push(VENV);
    else problems.push(`${VENV} missing: run scripts/dev/tools.sh kubernetes-validate first`);
  }
  const entries: Entry[] = [
    ...a.npmRoot.flatMap(npmEntries),
    ...goEntries(a.goBin),
    ...(a.mavenLib.length || a.mavenCoord.length ? mavenEntries(a.mavenRepo, a.mavenLib, a.mavenCoord) : []),
    ...a.venv.flatMap(pypiEntries),
    ...a.entries.flatMap((f) => JSON.parse(readFileSync(f, 'utf8')) as Entry[]),
  ];
  const verdicts = entries.map((e) => judge(e));
  const counts: Record<string, number> = {};
  for (const v of verdicts) counts[v.entry.ecosystem] = (counts[v.entry.ecosystem] ?? 0) + 1;
  for (const v of verdicts) {
    if (a.verbose || !v.ok) {
      const e = v.entry;
      process.stdout.write(`${v.ok ? 'ok  ' : 'FAIL'} ${e.ecosystem} ${e.name}@${e.version}: ${e.license}${v.ok ? ` (${v.why})` : ` — ${v.why} [${e.source}]`}\n`);
    }
  }
  const failed = verdicts.filter((v) => !v.ok);
  for (const p of problems) process.stdout.write(`FAIL ${p}\n`);
  const summary = Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ') || 'nothing';
  process.stdout.write(`license-check: ${summary} checked; ${failed.length} not allowed${problems.length ? `, ${problems.length} sources missing` : ''}\n`);
  return failed.length || problems.length ? 1 : 0;
}

try {
  process.exitCode = main();
} catch (err) {
  process.stderr.write(`license-check: ${(err as Error).message}\n`);
  process.exitCode = 2;
}
