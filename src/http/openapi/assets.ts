import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * The files of the /docs page. Swagger UI (swagger-ui-dist, Apache-2.0) comes from node_modules, so the page
 * works offline and loads nothing from a CDN; docs.js is ours: it starts Swagger UI on /openapi.json with the
 * online validator badge off (that badge would call an outside service).
 */
export const DOCS_ASSETS: Record<string, { type: string; load: () => Promise<Buffer> }> = {
  'swagger-ui.css': { type: 'text/css; charset=utf-8', load: () => fromPackage('swagger-ui.css') },
  'swagger-ui-bundle.js': { type: 'text/javascript; charset=utf-8', load: () => fromPackage('swagger-ui-bundle.js') },
  'docs.js': { type: 'text/javascript; charset=utf-8', load: async () => Buffer.from(INITIALIZER) },
};

const INITIALIZER = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: new URL('openapi.json', document.baseURI).href,
    dom_id: '#docs',
    deepLinking: true,
    validatorUrl: null,
    defaultModelsExpandDepth: 0,
  });
});
`;

/** The page: everything it loads is same-origin (see DOCS_CSP). */
export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Ephemera API</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
  <div id="docs"></div>
  <script src="docs/assets/swagger-ui-bundle.js"></script>
  <script src="docs/assets/docs.js"></script>
</body>
</html>
`;

/**
 * The Content-Security-Policy of /docs only (every other answer keeps `default-src 'none'`): scripts, styles and
 * the document from this origin; Swagger UI sets inline style attributes and uses data: images for its icons.
 */
export const DOCS_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
  "font-src 'self' data:", "connect-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

let packageDir: string | null = null;
const cache = new Map<string, Promise<Buffer>>();

function fromPackage(file: string): Promise<Buffer> {
  packageDir ??= path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  let loaded = cache.get(file);
  if (!loaded) {
    loaded = readFile(path.join(packageDir, file));
    loaded.catch(() => cache.delete(file));
    cache.set(file, loaded);
  }
  return loaded;
}
