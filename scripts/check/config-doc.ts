// Writes the configuration reference (docs/configuration.md) from the zod schema in src/config.ts, the one
// source of every variable's name, type, default and description. `--check` writes nothing and exits 1 when the
// committed file differs (part of `make lint`), so the page cannot drift from the schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { configSchema } from '../../src/config.js';

const TARGET = new URL('../../docs/configuration.md', import.meta.url);

type Json = {
  type?: string; enum?: unknown[]; const?: unknown; anyOf?: Json[]; minimum?: number; maximum?: number;
  minLength?: number; pattern?: string; format?: string; default?: unknown; description?: string;
  documentedDefault?: string;
};

function typeOf(j: Json): string {
  if (j.anyOf) return j.anyOf.map(typeOf).join(' or ');
  if (j.const !== undefined) return `\`${String(j.const)}\``;
  if (j.enum) return j.enum.map((v) => `\`${String(v)}\``).join(', ');
  if (j.type === 'integer' || j.type === 'number') {
    const word = j.type === 'integer' ? 'integer' : 'number';
    const max = j.maximum !== undefined && j.maximum < Number.MAX_SAFE_INTEGER ? j.maximum : undefined;
    if (j.minimum !== undefined && max !== undefined) return `${word} ${j.minimum}–${max}`;
    if (j.minimum !== undefined) return `${word} ≥ ${j.minimum}`;
    return word;
  }
  if (j.format === 'uri') return 'URL';
  if (j.pattern) return 'string (checked pattern)';
  return j.type ?? 'string';
}

function defaultOf(key: string, j: Json): string {
  if (j.documentedDefault) return j.documentedDefault;
  if (j.default !== undefined) return `\`${String(j.default)}\``;
  // A default on a transformed value (e.g. WORKERS) is not in the input schema: ask the schema itself.
  const parsed = configSchema.shape[key as keyof typeof configSchema.shape].safeParse(undefined);
  return parsed.success && parsed.data !== undefined ? `\`${String(parsed.data)}\`` : 'unset';
}

const cell = (s: string) => s.replaceAll('|', '\\|');

export function configurationPage(): string {
  const json = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, Json> };
  const rows = Object.entries(json.properties).map(([key, j]) =>
    `| \`${key}\` | ${cell(typeOf(j))} | ${cell(defaultOf(key, j))} | ${cell(j.description ?? '')} |`);
  return [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config.ts by `make config-doc`; `make lint` fails when this file is out of step. -->',
    '',
    'Every setting is an environment variable, validated once at start-up by the zod schema in `src/config.ts`; a bad',
    'value stops the process with exit code 78 and a message naming each bad variable. An empty value counts as unset.',
    'Cross-field rules (also checked at start-up): `WORKERS` > 1 needs `METRICS_PORT`; `AUTH_MODE=jwt` needs',
    '`AUTH_JWT_SECRET`; `OPENSEARCH_PASSWORD` needs `OPENSEARCH_USERNAME`; `DELIVERY_SETTLE_MS` − `MAX_CLOCK_SKEW_MS`',
    '− 500 ms ≥ 2 × `CASSANDRA_REQUEST_TIMEOUT_MS`; `MAX_TIMEOUT_SECONDS` + `HOT_GRACE_SECONDS` ≤ 630720000 (Cassandra\'s',
    'TTL cap); `CASSANDRA_REPLICATION` names one datacenter; ANY/ONE/LOCAL_ONE consistency only with replication 1.',
    '',
    '| variable | type | default | what it does |',
    '|---|---|---|---|',
    ...rows,
    '',
    'Not in the schema: `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME` and the other `OTEL_*` variables are read by',
    'the OpenTelemetry SDK (tracing is off unless the endpoint is set; docs/operations.md, Observability).',
    '',
  ].join('\n');
}

const page = configurationPage();
if (process.argv.includes('--check')) {
  let committed = '';
  try { committed = readFileSync(TARGET, 'utf8'); } catch { /* a missing page is out of step too */ }
  if (committed !== page) {
    process.stderr.write('docs/configuration.md is out of step with src/config.ts: run `make config-doc` and commit it\n');
    process.exit(1);
  }
} else {
  writeFileSync(TARGET, page);
  process.stdout.write(`wrote docs/configuration.md (${Object.keys(configSchema.shape).length} variables)\n`);
}
