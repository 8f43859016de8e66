import Router from '@koa/router';
import { notFound } from '../../errors.js';
import { openApiDocument, type OpenApiSettings } from './document.js';
import { DOCS_ASSETS, DOCS_CSP, DOCS_PAGE } from './assets.js';

/** GET /openapi.json, GET /docs and the page's assets. */
export function openApiRoutes(settings: OpenApiSettings): Router {
  const router = new Router();
  const document = JSON.stringify(openApiDocument(settings));

  router.get('/openapi.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = document;
  });

  router.get('/docs', (ctx) => {
    ctx.set('content-security-policy', DOCS_CSP);
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = DOCS_PAGE;
  });

  router.get('/docs/assets/:file', async (ctx) => {
    const asset = Object.hasOwn(DOCS_ASSETS, ctx.params.file!) ? DOCS_ASSETS[ctx.params.file!] : undefined;
    if (!asset) throw notFound(`no asset ${ctx.params.file}`);
    ctx.type = asset.type;
    // The files change only with the swagger-ui-dist version: a browser may keep them for an hour.
    ctx.set('cache-control', 'public, max-age=3600');
    ctx.body = await asset.load();
  });

  return router;
}
