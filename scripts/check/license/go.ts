/**
 * Go modules compiled into the tools the scripts build: `go version -m BINARY` lists the main module and every
 * module linked in (the exact build list, not the whole module graph), and each module's LICENSE/COPYING
 * file is read from the module cache ($(go env GOMODCACHE); downloaded there with `go mod download` if absent).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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

export function goEntries(binaries: string[]): Entry[] {
  const cache = go(['env', 'GOMODCACHE']).trim();
  const seen = new Map<string, Entry>();
  for (const bin of binaries) {
    for (const [mod, version] of modulesOf(bin)) {
      const key = `${mod}@${version}`;
      if (seen.has(key) || version === '(devel)') continue;
      const dir = moduleDir(cache, mod, version);
      const files = readdirSync(dir).filter((f) => /^(LICEN[CS]E|COPYING|UNLICENSE)/i.test(f));
      const ids = [...new Set(files.flatMap((f) => licensesInText(readFileSync(path.join(dir, f), 'utf8'))))];
      seen.set(key, {
        ecosystem: 'go', name: mod, version,
        license: ids.length ? ids.join(' AND ') : `UNKNOWN(no recognised license file in ${files.join(', ') || 'the module root'})`,
        source: `${path.basename(bin)}: ${files.length ? path.join(dir, files[0]!) : dir}`,
      });
    }
  }
  return [...seen.values()];
}
