import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The files of the dashboard page, by the name the page asks for. uPlot (MIT) comes from node_modules, so the
 * page works offline; the rest is ours, in page/. A fixed list: nothing else on disk can be asked for.
 */
const PAGE_DIR = fileURLToPath(new URL('page/', import.meta.url));
const JS = 'text/javascript; charset=utf-8';

let uplotDir: string | null = null;
const fromUplot = (file: string) => () => {
  uplotDir ??= path.dirname(createRequire(import.meta.url).resolve('uplot/package.json'));
  return readFile(path.join(uplotDir, 'dist', file));
};
const fromPage = (file: string) => () => readFile(path.join(PAGE_DIR, file));

export const PAGE_ASSETS: Record<string, { type: string; load: () => Promise<Buffer> }> = {
  'uPlot.iife.min.js': { type: JS, load: fromUplot('uPlot.iife.min.js') },
  'uPlot.min.css': { type: 'text/css; charset=utf-8', load: fromUplot('uPlot.min.css') },
  'dashboard.css': { type: 'text/css; charset=utf-8', load: fromPage('dashboard.css') },
  ...Object.fromEntries(['main.js', 'layout.js', 'prometheus.js', 'series.js', 'time.js', 'units.js', 'stat.js', 'timeseries.js', 'alerts.js']
    .map((f) => [f, { type: JS, load: fromPage(f) }])),
};

export const loadPage = () => readFile(path.join(PAGE_DIR, 'index.html'));

/**
 * Same-origin scripts, styles and queries only; uPlot sets inline style attributes on the elements it draws.
 * A violation is a console error, which the page test fails on.
 */
export const PAGE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
  "connect-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');
