import type { Config } from './config.js';

/**
 * What `serve` prints first in a terminal: where to point a browser or curl, and the administrator token when
 * `--generate-admin-token` made one up (make run without ADMIN_TOKEN).
 */
export function startupBanner(config: Pick<Config, 'HOST' | 'METRICS_PORT'>, port: number, archiveEvery: number,
  generatedAdminToken?: string): string {
  // 0.0.0.0 / :: listen on every interface; a person types localhost.
  const host = ['0.0.0.0', '::', ''].includes(config.HOST) ? 'localhost' : config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  const base = `http://${host}:${port}`;
  const rows: Array<[string, string]> = [
    ['API', `${base}/chat   (POST /chat, GET /chat/:id, GET /chats/:username)`],
    ['Docs', `${base}/docs`],
    ['OpenAPI', `${base}/openapi.json`],
    ['Metrics', `http://${host}:${config.METRICS_PORT || port}/metrics`],
    ['Health', `${base}/healthz, ${base}/readyz`],
  ];
  if (archiveEvery > 0) rows.push(['Archiver', `every ${archiveEvery} s`]);
  if (generatedAdminToken) {
    rows.push(['Admin', `Authorization: Bearer ${generatedAdminToken}`],
      ['', '(GET /applications; generated for this run: set ADMIN_TOKEN to keep one)']);
  }
  return `\n  Ephemera is serving\n\n${rows.map(([k, v]) => `  ${k.padEnd(9)} ${v}`).join('\n')}\n\n  Ctrl-C stops it.\n\n`;
}
