import { ref, sharedComponents, type ComponentKind, type Json, type Limits, type PathModule } from './components.js';
import { inboxPaths } from './inbox.js';
import { healthPaths } from './health.js';
import { docsPaths } from './docs.js';
import { DOCS_ASSETS } from './assets.js';
import { chatsPaths } from './chats.js';
import { messageBodyPaths, type BodyLimits } from './message-bodies.js';
import type { ChatsLimits } from './chats-components.js';

/** What the document states of the configuration (settings.ts maps it). */
export interface OpenApiSettings {
  inbox: Limits;
  /** CHAT_PATH_USERNAMES: the inbox's username-in-path routes are described too. */
  pathUsernames: boolean;
  chats: ChatsLimits;
  /** The raw-body routes' size limit (CHAT_MAX_STREAMED_BODY_BYTES, or CHAT_MAX_BODY_BYTES with the cassandra store). */
  bodies: BodyLimits;
}

/**
 * The OpenAPI 3.1 document, built from one module per group of routes. To describe more routes, add a module
 * returning a PathModule and list it here.
 */
export function openApiDocument(settings: OpenApiSettings): Json {
  const modules: PathModule[] = [
    inboxPaths(settings.inbox, { pathUsernames: settings.pathUsernames }),
    healthPaths(),
    docsPaths(Object.keys(DOCS_ASSETS)),
    chatsPaths(settings.chats),
    messageBodyPaths(settings.bodies),
  ];
  const components = sharedComponents(settings.inbox);
  const paths: Record<string, Json> = {};
  for (const m of modules) {
    for (const [path, item] of Object.entries(m.paths)) {
      if (paths[path]) throw new Error(`OpenAPI: ${path} is described by two modules`);
      paths[path] = item;
    }
    for (const [kind, entries] of Object.entries(m.components ?? {})) {
      for (const [name, value] of Object.entries(entries)) {
        const section = components[kind as ComponentKind];
        if (section[name]) throw new Error(`OpenAPI: components.${kind}.${name} is defined twice`);
        section[name] = value;
      }
    }
  }
  addRequestIdHeader([...Object.values(paths).flatMap((item) => Object.values(item) as Json[])
    .map((operation) => operation.responses as Json), components.responses]);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Ephemera API',
      version: '1.0.0',
      summary: 'Ephemeral text messages (post, read by id, list and consume) and chat applications.',
      description: 'Every error is `{"error": {"code", "message"}}`. Every answer carries `X-Request-Id`.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/', description: 'this service' }],
    tags: modules.flatMap((m) => m.tags),
    security: [{}],
    paths,
    components: {
      ...components,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'AUTH_MODE=jwt only: HS256, subject = username.' },
        admin: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN: the administrator\'s calls (GET /applications).' },
      },
    },
  };
}

/** Every answer carries X-Request-Id: added to each response here rather than written in every module. */
function addRequestIdHeader(responseMaps: Json[]): void {
  for (const responses of responseMaps) {
    for (const response of Object.values(responses) as Json[]) {
      if ('$ref' in response) continue; // a shared response: it gets the header in components.responses
      response.headers = { 'X-Request-Id': ref('headers', 'RequestId'), ...(response.headers as Json | undefined) };
    }
  }
}
