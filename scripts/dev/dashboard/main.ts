import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { startDashboard } from './server.js';

const HELP = `make dashboard: the chart's Grafana dashboard drawn from live Prometheus data, without Grafana.

  npx tsx scripts/dev/dashboard/main.ts [options]

Starts (or reuses) a local Prometheus (scripts/dev/prometheus.sh up) scraping the service every 1 s with the
chart's recording and alert rules, then serves a page that draws charts/ephemera/files/dashboard.json (uPlot)
from Prometheus, with the alert states beside it. Start the service first (make run, another terminal).

  --target HOST:PORT        the service to scrape (env TARGET; default 127.0.0.1:8080, i.e. make run)
  --prometheus-port PORT    where the local Prometheus listens (env PROM_PORT; default 9090)
  --prometheus-url URL      use this Prometheus instead of starting one (then --target is not scraped by us)
  --scrape-interval SECONDS its scrape interval (default 1, what prometheus.sh configures)
  --port PORT               where the page is served (env DASHBOARD_PORT; default 3000; 0 = any free port)
  --host HOST               address to listen on (default 127.0.0.1)
  --dashboard FILE          dashboard JSON (default charts/ephemera/files/dashboard.json)
  -h, --help                this text

Ctrl-C stops the page; Prometheus keeps running for the next start (make prometheus-down stops it).
URL parameters of the page, as in Grafana: from=now-15m, to=now, refresh=5s|off, var-namespace=NAME.`;

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const say = (msg: string) => process.stderr.write(`==> dashboard: ${msg}\n`);

function fail(msg: string): never {
  process.stderr.write(`==> dashboard: ERROR: ${msg}\n`);
  process.exit(2);
}

function portOf(name: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) fail(`${name} must be a port number (0-65535), got '${value}'`);
  return n;
}

/** Runs scripts/dev/prometheus.sh up, its progress lines passed through; resolves to the URL it prints. */
function prometheusUp(target: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('scripts/dev/prometheus.sh', ['up', target, String(port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      const url = out.trim().split('\n').pop() ?? '';
      if (code === 0 && /^http:\/\//.test(url)) resolve(url);
      else reject(new Error(`scripts/dev/prometheus.sh up exited with ${code}`));
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', default: process.env.TARGET || '127.0.0.1:8080' },
      'prometheus-port': { type: 'string', default: process.env.PROM_PORT || '9090' },
      'prometheus-url': { type: 'string' },
      'scrape-interval': { type: 'string', default: '1' },
      port: { type: 'string', default: process.env.DASHBOARD_PORT || '3000' },
      host: { type: 'string', default: '127.0.0.1' },
      dashboard: { type: 'string', default: `${ROOT}charts/ephemera/files/dashboard.json` },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  if (!/^[^/\s]+:\d+$/.test(values.target)) fail(`--target must be host:port, got '${values.target}'`);
  const scrape = Number(values['scrape-interval']);
  if (!(scrape > 0)) fail(`--scrape-interval must be a positive number of seconds, got '${values['scrape-interval']}'`);
  let panels = 0;
  let rows = 0;
  try {
    type Panel = { type?: string; panels?: Panel[] };
    const all = (list: Panel[] = []): Panel[] => list.flatMap((p) => [p, ...all(p.panels)]);
    const found = all((JSON.parse(readFileSync(values.dashboard, 'utf8')) as Panel).panels);
    rows = found.filter((p) => p.type === 'row').length;
    panels = found.length - rows;
  } catch (err) {
    fail(`cannot read the dashboard ${values.dashboard}: ${(err as Error).message}`);
  }

  let prometheusUrl = values['prometheus-url'];
  if (!prometheusUrl) {
    const metrics = await fetch(`http://${values.target}/metrics`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
    if (metrics?.ok) say(`service at ${values.target} answers /metrics`);
    else say(`nothing answers http://${values.target}/metrics yet: start the service (make run) in another terminal; Prometheus scrapes it once it is up`);
    try {
      await promisify(execFile)('sh', ['-c', 'command -v prometheus']);
    } catch {
      fail("prometheus is not installed: run scripts/check/promtool-test.sh as root (installs Debian's prometheus package)");
    }
    prometheusUrl = await prometheusUp(values.target, portOf('--prometheus-port', values['prometheus-port']));
  }

  const dashboard = await startDashboard({
    prometheusUrl, dashboardFile: values.dashboard, scrapeIntervalSeconds: scrape,
    host: values.host, port: portOf('--port', values.port),
  }).catch((err: Error) => fail(`cannot listen on ${values.host}:${values.port}: ${err.message} (pass --port)`));
  say(`drawing ${values.dashboard} (${panels} panels in ${rows} rows) from Prometheus at ${prometheusUrl}`);
  say(`open ${dashboard.url}/  (Ctrl-C stops the page; Prometheus keeps running: make prometheus-down)`);
  const stop = () => { void dashboard.close().then(() => process.exit(0)); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: Error) => fail(`${err.message} (--help lists the options)`));
