#!/usr/bin/env node
// Experiment: `ephemera serve` in cluster mode, WORKERS processes (default 2) sharing one port.
//
//   WORKERS=2 PORT=18080 node loadtest/cluster-serve.mjs
//
// The primary only forks and supervises; each worker imports dist/cli.js, whose top-level main() reads
// process.argv, so the worker sets argv to `serve` first. Every worker has its own Cassandra client and claims
// its own id-writer lease (128 slots), so ids stay unique. node:cluster hands accepted connections to the
// workers round-robin (the default everywhere but Windows).
//
// Not for production as it is: /metrics answers from whichever worker gets the connection (one process's
// counters), SIGTERM is forwarded by hand, and a worker needs its IPC channel unref'd to exit after
// cli.js's main() returns (main() sets process.exitCode and expects the event loop to drain). A real `serve --workers N` belongs in src/cli.ts (see
// docs/performance.md).
import cluster from 'node:cluster';
import os from 'node:os';

const workers = Number(process.env.WORKERS ?? 2) || os.availableParallelism();

if (cluster.isPrimary) {
  let stopping = false;
  for (let i = 0; i < workers; i++) cluster.fork({ EPHEMERA_WORKER: String(i) });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    process.stderr.write(`cluster-serve: worker ${worker.process.pid} exited (${signal ?? code}); forking another\n`);
    cluster.fork();
  });
  const stop = (signal) => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
} else {
  // The IPC channel to the primary keeps a worker's event loop alive, so after cli.js's graceful shutdown the
  // worker would linger forever: let the channel go once a stop signal arrives.
  for (const sig of ['SIGTERM', 'SIGINT']) process.once(sig, () => process.channel?.unref());
  process.argv = [process.argv[0], new URL('../dist/cli.js', import.meta.url).pathname, 'serve'];
  await import('../dist/cli.js');
}
