import client from 'prom-client';
import { registry } from './metrics.js';

/**
 * Downloads whose object failed its digest or size check after bytes went out (the connection was aborted).
 * Any increase is a store that altered or lost a body: alert on it.
 */
export const bodyDigestMismatches = new client.Counter({
  name: 'ephemera_chat_body_digest_mismatches_total',
  help: 'Streamed message body downloads aborted because the object did not match the digest or size its row recorded.',
  registers: [registry],
});
bodyDigestMismatches.inc(0);
