import type http from 'node:http';
import type { Socket } from 'node:net';

/**
 * Keep-alive connections through a rollout, measured through a helm upgrade at 200 req/s (docs/pods.md):
 * - once `server.close()` is called Node stops accepting connections, but a client that keeps a pooled connection
 *   busy keeps reusing it: every answer still says `keep-alive`, the connection is never idle, `close()` never
 *   ends, and SHUTDOWN_TIMEOUT_MS later `closeAllConnections()` cuts it, requests in flight included;
 * - `server.closeIdleConnections()` (Node 20) counts a connection as idle once its request is fully received, so it
 *   also cuts connections whose answer is still being computed (a stored create the client never hears about).
 * Both ended as ECONNRESET (6-8 per rollout). While draining, every answer carries `Connection: close`, so the
 * client's next request opens a new connection, which kube-proxy sends to a pod that is still an endpoint (the
 * preStop sleep took this one out before SIGTERM), and only connections with no request in progress are closed.
 * Closing an idle keep-alive connection still races with a client sending on it at that moment (HTTP/1.1 has no
 * other way to end one): 3-5 ECONNRESET per rollout at 200 req/s remain, before any byte of an answer, which a
 * client retries (GETs, and creates with an Idempotency-Key; test/pods/rollout.test.ts counts both).
 */
export interface ConnectionDrain {
  /** Wraps the request handler: counts the requests in progress per connection. */
  handler(next: http.RequestListener): http.RequestListener;
  /** Answers not sent yet close their connection; connections with nothing in progress are closed now. */
  start(): void;
}

export function connectionDrain(server: http.Server): ConnectionDrain {
  let draining = false;
  const sockets = new Map<Socket, Set<http.ServerResponse>>();
  server.on('connection', (socket: Socket) => {
    sockets.set(socket, new Set());
    socket.once('close', () => sockets.delete(socket));
  });
  const closeAfter = (res: http.ServerResponse) => {
    if (!res.headersSent) res.setHeader('connection', 'close');
  };
  return {
    handler: (next) => (req, res) => {
      const inProgress = sockets.get(req.socket);
      if (inProgress) {
        inProgress.add(res);
        res.once('close', () => inProgress.delete(res));
      }
      if (draining) closeAfter(res);
      next(req, res);
    },
    start() {
      draining = true;
      for (const [socket, inProgress] of sockets) {
        if (inProgress.size === 0) socket.destroySoon();
        else for (const res of inProgress) closeAfter(res);
      }
    },
  };
}
