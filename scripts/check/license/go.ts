/**
 * Go modules compiled into the tools the scripts build: `go version -m BINARY` lists the main module and every
 * module linked in (the exact build list, not the whole module graph), and each module's LICENSE/COPYING
 * file is read from the module cache ($(go env GOMODCACHE); downloaded there with `go mod download` if absent).
 * A license may also be a directory of texts (REUSE's `LICENSES/MIT.txt`; k8s.io/kubernetes ships `LICENSES/`):
 * its own files are read, not its subdirectories (`LICENSES/vendor/...` holds the licenses of vendored modules,
 * which the build list names and this gate reads as modules of their own).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, type Dirent } from 'node:fs';
import path from 'node:path';
import type { Entry } from './entry.js';
import { licensesInText } from './license-text.js';

const go = (args: string[]) => execFileSync('go', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The module cache spells capitals as '!' + lower case (github.com/BurntSushi -> github.com/!burnt!sushi). */
const escapePath = (p: string) => p.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);

/** [path, version] of every module in the binary's build info; a `=>` replacement wins over what it replaces. */
export function modulesOf(binary: string): Array<[string, string]> {
  const mods: Array<[string, string]> = [];
  for (const line of go(['version', '-m', binary]).split('\n')) {
    const f = line.trim().split(/\s+/);
    if ((f[0] === 'mod' || f[0] === 'dep') && f[1] && f[2]) mods.push([f[1], f[2]]);
    else if (f[0] === '=>' && f[1] && f[2] && mods.length) mods[mods.length - 1] = [f[1], f[2]];
  }
  return mods;
}

function moduleDir(cache: string, mod: string, version: string): string {
  const dir = path.join(cache, `${escapePath(mod)}@${version}`);
  if (existsSync(dir)) return dir;
  const info = JSON.parse(go(['mod', 'download', '-json', `${mod}@${version}`])) as { Dir?: string };
  if (!info.Dir) throw new Error(`go mod download ${mod}@${version} gave no directory`);
  return info.Dir;
}

const LICENSE_NAME = /^(LICEN[CS]E|COPYING|UNLICENSE)/i;
/** Files in a LICENSES/ directory that are not license texts (Kubernetes' reviewers file). */
const NOT_A_TEXT = /^(OWNERS|README)/i;

/**
 * The license files of a module directory, relative to it: root files named like a license, and the direct
 * files of a root directory named like one.
 */
export function licenseFilesOf(dir: string): string[] {
  const files: string[] = [];
  const entries: Dirent[] = readdirSync(dir, { withFileTypes: true });
  for (const e of entries.filter((x) => LICENSE_NAME.test(x.name))) {
    if (e.isFile()) files.push(e.name);
    else if (e.isDirectory()) {
      for (const f of readdirSync(path.join(dir, e.name), { withFileTypes: true })) {
        if (f.isFile() && !NOT_A_TEXT.test(f.name)) files.push(path.join(e.name, f.name));
      }
    }
  }
  return files.sort();
}

/** The license of one module directory: every license recognised in its license files (see licenseFilesOf). */
export function moduleLicense(dir: string): { license: string; files: string[] } {
  const files = licenseFilesOf(dir);
  const ids = [...new Set(files.flatMap((f) => licensesInText(readFileSync(path.join(dir, f), 'utf8'))))];
  return {
    files,
    license: ids.length ? ids.join(' AND ') : `UNKNOWN(no recognised license file in ${files.join(', ') || 'the module root'})`,
  };
}

export function goEntries(binaries: string[]): Entry[] {
  const cache = go(['env', 'GOMODCACHE']).trim();
  const seen = new Map<string, Entry>();
  for (const bin of binaries) {
    for (const [mod, version] of modulesOf(bin)) {
      const key = `${mod}@${version}`;
      if (seen.has(key) || version === '(devel)') continue;
      let dir = '';
      try {
        dir = moduleDir(cache, mod, version);
        const { license, files } = moduleLicense(dir);
        seen.set(key, {
          ecosystem: 'go', name: mod, version, license,
          source: `${path.basename(bin)}: ${files.length ? path.join(dir, files[0]!) : dir}`,
        });
      } catch (err) {
        throw new Error(`go module ${key} (in ${path.basename(bin)}) at ${dir || 'the module cache'}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  return [...seen.values()];
}
