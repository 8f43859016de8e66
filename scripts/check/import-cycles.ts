// Fails when src/ holds an import circle (type-only imports count: a circle of types is still two files that
// cannot be understood apart). eslint's floor rules forbid arrows up between folders; this catches the circles
// inside a floor too. Part of `make lint`; prints each circle's files.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../src');
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*'(\.{1,2}\/[^']+)'|import\(\s*'(\.{1,2}\/[^']+)'\s*\)/g;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

const graph = new Map<string, string[]>();
for (const file of files(ROOT)) {
  const targets: string[] = [];
  for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    const spec = (m[1] ?? m[2])!;
    targets.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  graph.set(file, targets.filter((t) => t.startsWith(ROOT)));
}

// Tarjan's strongly connected components: every component of more than one file (or a file importing itself) is a circle.
let index = 0;
const idx = new Map<string, number>();
const low = new Map<string, number>();
const stack: string[] = [];
const onStack = new Set<string>();
const circles: string[][] = [];
function visit(v: string): void {
  idx.set(v, index); low.set(v, index); index++;
  stack.push(v); onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!graph.has(w)) continue;
    if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
    else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
  }
  if (low.get(v) === idx.get(v)) {
    const component: string[] = [];
    let w: string;
    do { w = stack.pop()!; onStack.delete(w); component.push(w); } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) circles.push(component);
  }
}
for (const v of graph.keys()) if (!idx.has(v)) visit(v);

const arrows = [...graph.values()].reduce((n, t) => n + t.length, 0);
if (circles.length > 0) {
  for (const c of circles) process.stderr.write(`import circle: ${c.map((f) => relative(ROOT, f)).join(' <-> ')}\n`);
  process.exit(1);
}
process.stdout.write(`import circles: 0 (${graph.size} files, ${arrows} imports in src/)\n`);
