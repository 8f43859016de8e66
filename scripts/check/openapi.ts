// Prints the OpenAPI document the service serves at /openapi.json, for the configuration in the environment
// (CHAT_PATH_USERNAMES=true gives the variant). Used by scripts/check/openapi-lint.sh.
import { loadConfig } from '../../src/config.js';
import { openApiDocument } from '../../src/http/openapi/document.js';
import { openApiSettings } from '../../src/settings.js';

process.stdout.write(`${JSON.stringify(openApiDocument(openApiSettings(loadConfig(process.env))), null, 2)}\n`);
