/**
 * One load-test run with vegeta: seed ids, stream the mix's targets into `vegeta attack` at RATE for
 * DURATION, read its results, judge the thresholds, print a report, write the JSON summary.
 *
 *   node --import tsx loadtest/vegeta/attack.ts mix|smoke      (settings: loadtest/vegeta/config.ts)
 *
 * Exit status: 0 all thresholds met, 99 one failed (named in the report; 99 as k6 used), 1 an error.
 * CPU per request of vegeta and of this generator is measured over the attack (and of the service when
 * SERVICE_PID is set, and of the local Cassandra on the CQL port), since all share the same cores here.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Scenario } from './config.js';
import { seedIds } from './seed.js';
import { mixTargets, streamTargets } from './targets.js';
import { chatTargets, seedChat } from './chat-targets.js';
import { collect } from './results.js';
import { roundTrips } from './roundtrip.js';
import { digest, latencyStats, type VegetaReport } from './verdict.js';
import { textReport } from './report.js';
import { cpuMeter } from './cpu.js';

const say = (msg: string) => process.stderr.write(`==> loadtest: ${msg}\n`);
const VEGETA = process.env.VEGETA ?? path.join(process.env.EPHEMERA_CACHE ?? path.join(os.homedir(), '.cache', 'ephemera'), 'bin', 'vegeta');

/** Runs vegeta with `args`; stdout as text (or to `stdoutTo`'s handler). */
function vegeta(args: string[], opts: { stdin?: 'pipe' | 'ignore' } = {}) {
  // Go's idle threads nap in µs steps; a 500 µs timer slack (inherited by every thread) cut the Go load
  // generator's CPU per request ~20 % on 2 cores without delaying I/O wake-ups (measured with k6 earlier).
  const slack = process.env.VEGETA_TIMER_SLACK_NS ?? (os.cpus().length <= 2 ? '500000' : '');
  const script = `${slack ? `echo ${slack} >/proc/self/timerslack_ns 2>/dev/null || true; ` : ''}exec "$0" "$@"`;
  return spawn('sh', ['-c', script, VEGETA, ...args], { stdio: [opts.stdin ?? 'ignore', 'pipe', 'inherit'] });
}

const exited = (child: ReturnType<typeof spawn>) => new Promise<number>((resolve, reject) => {
  child.once('error', reject);
  child.once('exit', (code) => resolve(code ?? 1));
});

async function main(): Promise<number> {
  const scenario = (process.argv[2] ?? 'mix') as Scenario;
  if (scenario !== 'mix' && scenario !== 'smoke') throw new Error('usage: attack.ts mix|smoke');
  const cfg = loadConfig(scenario);
  const results = path.join(os.tmpdir(), `ephemera-vegeta-${process.pid}.bin`);
  say(`seeding ${cfg.seedIds} messages at ${cfg.baseUrl}${cfg.targets === 'inbox' ? '' : ` into one chat (${cfg.targets})`}`);
  const next = cfg.targets === 'inbox' ? mixTargets(cfg, await seedIds(cfg)) : chatTargets(cfg, await seedChat(cfg, say));
  const meter = await cpuMeter(scenario === 'mix');

  say(`vegeta attack: ${cfg.rate} req/s for ${cfg.duration} (${cfg.targets === 'inbox' ? `${cfg.pctCreate}/${cfg.pctGet}/${100 - cfg.pctCreate - cfg.pctGet} `
    + `create/get/list, ${cfg.users} Zipf(${cfg.zipfS}) users` : `${cfg.targets} on one chat`})`);
  const started = Date.now();
  const attack = vegeta(['attack', '-format=json', '-lazy', `-rate=${cfg.rate}/1s`, `-duration=${cfg.duration}`,
    `-workers=${cfg.workers}`, `-max-workers=${cfg.maxWorkers}`, `-timeout=${cfg.timeout}`,
    `-max-body=${cfg.checkShapes ? -1 : 0}`, `-name=${scenario}`, `-output=${results}`], { stdin: 'pipe' });
  const attackExit = exited(attack).then((c) => { meter.stop(); return c; });
  // A margin over RATE x DURATION, so the stream never runs dry before vegeta's clock ends the attack.
  const count = Math.ceil(cfg.rate * cfg.durationS * 1.02) + 100;
  const [, trips, code] = await Promise.all([
    streamTargets(attack.stdin!, next, count),
    cfg.checkShapes ? roundTrips(cfg, started + cfg.durationS * 1000) : Promise.resolve(null),
    attackExit,
  ]);
  if (code !== 0) throw new Error(`vegeta attack exited ${code}`);

  const reportProc = vegeta(['report', '-type=json', results]);
  let reportText = '';
  reportProc.stdout!.on('data', (b: Buffer) => { reportText += b.toString(); });
  await exited(reportProc);
  const report = JSON.parse(reportText) as VegetaReport;
  const encode = vegeta(['encode', '-to=json', results]);
  const [collected] = await Promise.all([collect(encode.stdout!, cfg.checkShapes), exited(encode)]);
  rmSync(results, { force: true });
  const cpu = meter.perRequest(collected.all.length);

  if (trips) for (const [name, tally] of trips.checks) collected.checks.set(name, tally);
  const d = digest(cfg, collected, report, cpu);
  if (trips) d.endpoints.roundtrip = { count: trips.ms.length, rps: trips.ms.length / cfg.durationS, ms: latencyStats(trips.ms) };
  mkdirSync(path.dirname(cfg.summaryPath), { recursive: true });
  writeFileSync(cfg.summaryPath, JSON.stringify(d, null, 2) + '\n');
  process.stdout.write(textReport(d, cfg.summaryPath));
  return d.passed ? 0 : 99;
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => {
  process.stderr.write(`loadtest: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
