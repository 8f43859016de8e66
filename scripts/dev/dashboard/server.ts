import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { PAGE_ASSETS, PAGE_CSP, loadPage } from './assets.js';
import { proxyToPrometheus } from './prometheus-proxy.js';

export interface DashboardOptions {
  /** Where Prometheus answers, e.g. http://127.0.0.1:9090 (no trailing slash). */
  prometheusUrl: string;
  /** The Grafana dashboard JSON to draw: the chart's charts/ephemera/files/dashboard.json. */
  dashboardFile: string;
  /** Prometheus's scrape interval in seconds: the floor of the step and the base of $__rate_interval. */
  scrapeIntervalSeconds: number;
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** Per proxied query; a query_range over a day of 1 s samples takes well under a second here. */
  queryTimeoutMs?: number;
}

const ERROR_CODES: Record<number, string> = { 404: 'not_found', 405: 'method_not_allowed', 413: 'too_large', 500: 'internal' };

export interface RunningDashboard { url: string; close: () => Promise<void> }

/**
 * The dashboard page, its assets, the dashboard JSON (read from disk on every request: the chart's file is the
 * one copy of queries, titles and layout) and /api/v1/* forwarded to Prometheus.
 */
export function dashboardApp(options: DashboardOptions): Koa {
  const app = new Koa();
  const prometheusUrl = options.prometheusUrl.replace(/\/+$/, '');

  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const e = err as { status?: number; message: string };
      ctx.status = e.status && e.status >= 400 && e.status < 600 ? e.status : 500;
      ctx.body = { error: { code: ERROR_CODES[ctx.status] ?? 'bad_request', message: e.message } };
    }
  });

  app.use(async (ctx) => {
    const { path, method } = ctx;
    if (path.startsWith('/api/v1/')) {
      if (method !== 'GET' && method !== 'POST') ctx.throw(405, `${method} is not forwarded to Prometheus`);
      await proxyToPrometheus(ctx, prometheusUrl, options.queryTimeoutMs ?? 30_000);
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') ctx.throw(405, `${method} ${path} is not allowed`);
    if (path === '/') {
      ctx.set('content-security-policy', PAGE_CSP);
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = await loadPage();
    } else if (path === '/dashboard.json') {
      const text = await readFile(options.dashboardFile, 'utf8');
      try {
        JSON.parse(text);
      } catch (err) {
        ctx.throw(500, `${options.dashboardFile} is not valid JSON: ${(err as Error).message}`);
      }
      ctx.type = 'application/json';
      ctx.set('cache-control', 'no-store');
      ctx.body = text;
    } else if (path === '/config.json') {
      ctx.body = { prometheusUrl, scrapeIntervalSeconds: options.scrapeIntervalSeconds };
    } else if (path.startsWith('/assets/') && Object.hasOwn(PAGE_ASSETS, path.slice('/assets/'.length))) {
      const asset = PAGE_ASSETS[path.slice('/assets/'.length)]!;
      ctx.type = asset.type;
      ctx.set('cache-control', 'no-cache');
      ctx.body = await asset.load();
    } else {
      ctx.throw(404, `no such page: ${path}`);
    }
  });
  return app;
}

export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const server = dashboardApp(options).listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
