/** Where the service listens (HOST) and its metrics port (METRICS_PORT, 0: the API's port); settings.ts maps it. */
export interface BannerSettings { host: string; metricsPort: number }

/**
 * What `serve` prints first in a terminal: where to point a browser or curl, and the administrator token when
 * `--generate-admin-token` made one up (make run without ADMIN_TOKEN).
 */
export function startupBanner(settings: BannerSettings, port: number, archiveEvery: number,
  generatedAdminToken?: string): string {
  // 0.0.0.0 / :: listen on every interface; a person types localhost.
  const listen = settings.host;
  const host = ['0.0.0.0', '::', ''].includes(listen) ? 'localhost' : listen.includes(':') ? `[${listen}]` : listen;
  const base = `http://${host}:${port}`;
  const rows: Array<[string, string]> = [
    ['API', `${base}/chat   (POST /chat, GET /chat/:id, GET /chats/:username)`],
    ['Docs', `${base}/docs`],
    ['OpenAPI', `${base}/openapi.json`],
    ['Metrics', `http://${host}:${settings.metricsPort || port}/metrics`],
    ['Health', `${base}/healthz, ${base}/readyz`],
  ];
  if (archiveEvery > 0) rows.push(['Archiver', `every ${archiveEvery} s`]);
  if (generatedAdminToken) {
    rows.push(['Admin', `Authorization: Bearer ${generatedAdminToken}`],
      ['', '(GET /applications; generated for this run: set ADMIN_TOKEN to keep one)']);
  }
  return `\n  Ephemera is serving\n\n${rows.map(([k, v]) => `  ${k.padEnd(9)} ${v}`).join('\n')}\n\n  Ctrl-C stops it.\n\n`;
}
