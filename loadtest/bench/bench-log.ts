/**
 * CPU per access-log line, synchronous writes against LOG_BUFFER_BYTES-buffered ones (src/logger.ts), in
 * isolation: `npx tsx loadtest/bench/bench-log.ts >/dev/null` (stdout is where the lines go; the result is on stderr).
 * Each mode runs ROUNDS times, interleaved, LINES lines each at RATE lines/s (a service's access log is
 * written at the request rate, not in a burst: a burst would fill the buffer and flatter buffering).
 */
import { createLogger } from '../../src/logger.js';
import { sleep } from '../../src/async.js';

const LINES = Number(process.env.LINES ?? 6000);
const RATE = Number(process.env.RATE ?? 1000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);

async function run(bufferBytes: number, level = 'info'): Promise<number> {
  const log = createLogger(level, 'bench-log', { bufferBytes });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < LINES; i++) {
    log.info({ reqId: crypto.randomUUID(), method: 'POST', route: '/chat', status: 201, ms: 2.3 }, 'request');
    const ahead = (i + 1) / RATE * 1000 - (performance.now() - t0);
    if (ahead > 1) await sleep(ahead);
  }
  await sleep(600); // the buffered mode's timer flushes the rest
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / 1000 / LINES;
}

const results: Record<string, number[]> = { off: [], sync: [], buffered: [] };
for (let r = 0; r < ROUNDS; r++) {
  results.off!.push(await run(0, 'silent'));
  results.sync!.push(await run(0));
  results.buffered!.push(await run(4096));
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
const off = median(results.off!);
const show = (k: string) => `${k} ${(median(results[k]!) - off).toFixed(4)} [${results[k]!.map((v) => v.toFixed(4)).join(' ')}]`;
process.stderr.write(`CPU ms per access line at ${RATE} lines/s (${ROUNDS} rounds, median, net of the pacing loop `
  + `with logging off, ${off.toFixed(4)}): ${show('sync')}, ${show('buffered')} (4 KiB)\n`);
