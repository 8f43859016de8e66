import { createServer } from 'node:net';

/** A loopback TCP port free a moment ago (bound, then closed), for a benchmark's own service or proxy. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
