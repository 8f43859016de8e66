/**
 * A TCP proxy in front of a service that can be stopped and started again on the same port: "OpenSearch down"
 * for whatever sits behind it, without stopping the node other processes share. The freshness bench's outage and
 * the fast-path test's both use it.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  readonly url: string;
  /** Listens (again) on the port of the first start; 0 picks one. */
  start(): Promise<void>;
  /** Stops listening and cuts every connection in flight. */
  stop(): Promise<void>;
}

export function tcpProxy(target: URL, defaultPort = 9200): TcpProxy {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  return {
    get port() { return port; },
    get url() { return `http://127.0.0.1:${port}`; },
    async start() {
      server = createServer((client) => {
        const upstream = connect(Number(target.port || defaultPort), target.hostname);
        sockets.add(client).add(upstream);
        const end = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
        for (const s of [client, upstream]) { s.on('error', end); s.on('close', end); }
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
