import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { formatLogLine } from '../src/log-format.js';
import { startupBanner } from '../src/banner.js';
import { ensureSchema, TEST_ENV } from './support/harness.js';

const ESC = String.fromCharCode(27);
const stripColours = (s: string) => s.replace(new RegExp(`${ESC}\\[[0-9;]*m`, 'g'), '');

describe('make run in a terminal', () => {
  it('when a JSON log line is formatted, then it reads as time, level, message and key=value fields', () => {
    const line = JSON.stringify({ level: 'info', time: '2026-11-29T12:03:04.123Z', pid: 7, name: 'ephemera', msg: 'request',
      reqId: 'r1', route: '/chat/:id', status: 404, checks: { cassandra: 'ok' } });
    assert.equal(formatLogLine(line, false), '12:03:04.123 INFO  request reqId=r1 route=/chat/:id status=404 checks={"cassandra":"ok"}\n');
    const failed = formatLogLine(JSON.stringify({ level: 'error', time: '2026-11-29T12:03:04.123Z', msg: 'request failed',
      err: { message: 'boom', stack: 'Error: boom\n    at x' } }), false);
    assert.equal(failed, '12:03:04.123 ERROR request failed\n    Error: boom\n        at x\n');
    assert.ok(formatLogLine(line, true).includes(`${ESC}[32mINFO`), 'levels are coloured on a colour terminal');
    assert.equal(formatLogLine('not json', false), 'not json\n');
  });

  it('when the banner is printed, then it names the API, docs, OpenAPI and metrics URLs', () => {
    const banner = startupBanner({ host: '0.0.0.0', metricsPort: 0 }, 8080, 30);
    for (const url of ['http://localhost:8080/chat', 'http://localhost:8080/docs', 'http://localhost:8080/openapi.json',
      'http://localhost:8080/metrics']) assert.ok(banner.includes(url), url);
    assert.match(banner, /every 30 s/);
    assert.match(startupBanner({ host: '127.0.0.1', metricsPort: 9464 }, 8080, 0), /Metrics\s+http:\/\/127\.0\.0\.1:9464\/metrics/);
    assert.doesNotMatch(banner, /Admin/, 'no administrator row unless one was generated');
    assert.match(startupBanner({ host: '0.0.0.0', metricsPort: 0 }, 8080, 0, 'generated-token-of-43-characters-abcdefghij'),
      /Admin\s+Authorization: Bearer generated-token-of-43-characters-abcdefghij\n.*set ADMIN_TOKEN/);
  });

  it('when serve runs on a terminal (as make run: --generate-admin-token, no ADMIN_TOKEN), then it prints the banner with an admin token that lists applications, and human-readable lines, no JSON', async () => {
    await ensureSchema();
    // script(1) gives the service a pseudo-terminal, as a developer's shell does.
    const command = `exec ${process.execPath} --import tsx src/cli.ts serve --generate-admin-token`;
    const proc = spawn('script', ['-qefc', command, '/dev/null'], {
      env: { ...process.env, ...TEST_ENV, LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', ADMIN_TOKEN: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stdout.on('data', (c: Buffer) => { output += c.toString('utf8'); });
    const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no banner after 60 s:\n${output}`)), 60_000);
        proc.stdout.on('data', () => {
          const m = /Docs\s+http:\/\/127\.0\.0\.1:(\d+)\/docs/.exec(output);
          if (m) { clearTimeout(timer); resolve(Number(m[1])); }
        });
      });
      assert.equal((await fetch(`http://127.0.0.1:${port}/chat/12345`)).status, 404);
      const admin = /Admin\s+Authorization: Bearer (\S+)/.exec(stripColours(output))?.[1];
      assert.ok(admin && admin.length >= 32, `an admin token in the banner:\n${output}`);
      const list = (headers: Record<string, string>) => fetch(`http://127.0.0.1:${port}/applications?limit=1`, { headers });
      assert.equal((await list({ authorization: `Bearer ${admin}` })).status, 200);
      assert.equal((await list({})).status, 401);
      const plain = () => stripColours(output);
      await new Promise<void>((resolve, reject) => {
        const deadline = Date.now() + 10_000;
        const check = () => {
          if (/INFO\s+request .*status=404/.test(plain())) resolve();
          else if (Date.now() > deadline) reject(new Error(`no access-log line for the 404:\n${output}`));
          else setTimeout(check, 50);
        };
        check();
      });
      const lines = plain().split(/\r?\n/).filter((l) => l.trim());
      assert.ok(lines.some((l) => /^\d\d:\d\d:\d\d\.\d{3} INFO\s+listening port=\d+/.test(l)), output);
      assert.deepEqual(lines.filter((l) => l.trimStart().startsWith('{')), [], 'no JSON line on a terminal');
    } finally {
      proc.stdin.end('\x03'); // Ctrl-C on the terminal: SIGINT to the service
      const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    }
  });
});
