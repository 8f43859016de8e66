import assert from 'node:assert/strict';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/**
 * The contract check: every response a test sees must be described by the OpenAPI document the service itself
 * serves at /openapi.json (the document is written once, in src/http/openapi/, and used here and by /docs).
 * - The path must match a documented template (one trailing slash aside); an undocumented path may only answer
 *   404 with the error envelope.
 * - The method must be documented for it; otherwise only 405 (with Allow) or 501, with the error envelope.
 * - The status must be one the operation lists; its required headers present; every documented header matching
 *   its schema; the media type one it lists; a JSON body valid against its schema (draft 2020-12, OpenAPI 3.1).
 * A response that breaks any of these fails the test that made the request.
 */
type Json = { [key: string]: unknown };
interface Contract { doc: Json; ajv: Ajv2020; templates: Array<{ path: string; re: RegExp }> }

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const contracts = new Map<string, Promise<Contract>>();
const DOC_ID = 'openapi.json';
const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

function contractFor(origin: string): Promise<Contract> {
  let c = contracts.get(origin);
  if (!c) {
    c = (async () => {
      const res = await fetch(`${origin}/openapi.json`);
      assert.equal(res.status, 200, `${origin}/openapi.json must be served`);
      const doc = await res.json() as Json;
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addFormats(ajv);
      ajv.addSchema(doc, DOC_ID);
      // Templates with fewer parameters first, so /docs never matches as /docs/{x}, nor .../messages/search as
      // .../messages/{message} (a literal segment wins, as OpenAPI says).
      const params = (path: string) => path.split('{').length;
      const templates = Object.keys(doc.paths as Json)
        .sort((a, b) => params(a) - params(b))
        .map((path) => ({ path, re: new RegExp(`^${path.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`) }));
      return { doc, ajv, templates };
    })();
    c.catch(() => contracts.delete(origin));
    contracts.set(origin, c);
  }
  return c;
}

const schemaCache = new WeakMap<Ajv2020, Map<string, ValidateFunction>>();
function validatorAt(ajv: Ajv2020, at: string): ValidateFunction {
  let byPointer = schemaCache.get(ajv);
  if (!byPointer) schemaCache.set(ajv, (byPointer = new Map()));
  let v = byPointer.get(at);
  if (!v) byPointer.set(at, (v = ajv.compile({ $ref: `${DOC_ID}#/${at}` })));
  return v;
}

function resolve(doc: Json, node: Json, at: string): { node: Json; at: string } {
  const target = node.$ref as string | undefined;
  if (!target) return { node, at };
  const parts = target.replace(/^#\//, '').split('/');
  let out: unknown = doc;
  for (const p of parts) out = (out as Json)[p.replaceAll('~1', '/').replaceAll('~0', '~')];
  return resolve(doc, out as Json, target.replace(/^#\//, ''));
}

function checkBody(c: Contract, at: string, label: string, body: string): void {
  const json = JSON.parse(body) as unknown;
  const validate = validatorAt(c.ajv, at);
  assert.ok(validate(json), `${label}: body does not match the OpenAPI schema: ${c.ajv.errorsText(validate.errors)}\n${body.slice(0, 500)}`);
}

const ERROR_SCHEMA = pointer('components', 'schemas', 'Error');

/** Checks one response against the document; throws an AssertionError naming what does not match. */
export async function checkResponse(method: string, url: string, status: number, headers: Headers, body: string): Promise<void> {
  const { origin, pathname: raw } = new URL(url);
  // The router is not strict about one trailing slash (/applications/ is /applications), so neither is the check.
  const pathname = raw.length > 1 ? raw.replace(/\/$/, '') : raw;
  const c = await contractFor(origin);
  const label = `${method} ${pathname} -> ${status}`;
  const template = c.templates.find((t) => t.re.test(pathname));
  if (!template) {
    assert.equal(status, 404, `${label}: the path is not in the OpenAPI document, so only 404 may answer`);
    return checkBody(c, ERROR_SCHEMA, label, body);
  }
  const item = (c.doc.paths as Record<string, Json>)[template.path]!;
  const operation = item[method.toLowerCase()] as Json | undefined;
  if (!operation) {
    assert.ok(status === 405 || status === 501, `${label}: ${method} is not documented for ${template.path}, so only 405/501 may answer`);
    if (status === 405) assert.ok(headers.get('allow'), `${label}: a 405 names the allowed methods`);
    return checkBody(c, ERROR_SCHEMA, label, body);
  }
  const responses = operation.responses as Record<string, Json>;
  const listed = responses[String(status)];
  assert.ok(listed, `${label}: status ${status} is not documented (documented: ${Object.keys(responses).join(', ')})`);
  const { node: response, at } = resolve(c.doc, listed,
    pointer('paths', template.path, method.toLowerCase(), 'responses', String(status)));

  for (const [name, h] of Object.entries((response.headers ?? {}) as Record<string, Json>)) {
    const { node: header, at: headerAt } = resolve(c.doc, h, `${at}/${pointer('headers', name)}`);
    const value = headers.get(name);
    if (value === null) {
      assert.ok(!header.required, `${label}: the required header ${name} is missing`);
      continue;
    }
    const validate = validatorAt(c.ajv, `${headerAt}/schema`);
    assert.ok(validate(value), `${label}: header ${name}: ${JSON.stringify(value)} does not match: ${c.ajv.errorsText(validate.errors)}`);
  }

  const content = response.content as Record<string, Json> | undefined;
  if (!content) {
    assert.equal(body, '', `${label}: no body is documented, but one was sent`);
    return;
  }
  const type = (headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  assert.ok(content[type], `${label}: content type ${JSON.stringify(type)} is not documented (documented: ${Object.keys(content).join(', ')})`);
  if (type === 'application/json' || type.endsWith('+json')) {
    checkBody(c, `${at}/${pointer('content', type, 'schema')}`, label, body);
  } else {
    const validate = validatorAt(c.ajv, `${at}/${pointer('content', type, 'schema')}`);
    assert.ok(validate(body), `${label}: body does not match the OpenAPI schema: ${c.ajv.errorsText(validate.errors)}`);
  }
}

/** fetch, then the contract check; the body is read once and handed back in a fresh Response. */
export async function contractFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(url, init);
  const text = await res.text();
  await checkResponse(init.method ?? 'GET', url, res.status, res.headers, text);
  return new Response(res.status === 204 || res.status === 304 ? null : text, { status: res.status, statusText: res.statusText, headers: res.headers });
}
