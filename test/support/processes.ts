import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { TEST_ENV, waitReady } from './harness.js';

export interface ServiceProcess { url: string; proc: ChildProcess; logs: string[]; stop(signal?: NodeJS.Signals): Promise<number | null> }

/** The CLI as a separate OS process (what a pod runs), on a free port, against the test keyspaces. */
export async function spawnCli(args: string[], env: Record<string, string> = {}): Promise<{ proc: ChildProcess; logs: string[]; exited: Promise<number | null> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    env: { ...process.env, ...TEST_ENV, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => logs.push(l));
  createInterface({ input: proc.stderr! }).on('line', (l) => logs.push(l));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, logs, exited };
}

export async function spawnService(env: Record<string, string> = {}, args = ['serve']): Promise<ServiceProcess> {
  const { proc, logs, exited } = await spawnCli(args, env);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      for (const line of logs) {
        if (!line.includes('"listening"')) continue;
        clearInterval(timer);
        resolve((JSON.parse(line) as { port: number }).port);
        return;
      }
    }, 50);
    void exited.then((code) => { clearInterval(timer); reject(new Error(`service exited (${code}): ${logs.join('\n')}`)); });
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url);
  return {
    url, proc, logs,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      const killer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}
