/**
 * How a vegeta run is judged (loadtest/vegeta/results.ts, verdict.ts, report.ts): results in vegeta's own JSON
 * encoding (`vegeta encode -to json`) go in, thresholds and the report line that names what failed come out.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { loadConfig } from '../loadtest/vegeta/config.js';
import { collect } from '../loadtest/vegeta/results.js';
import { digest, type VegetaReport } from '../loadtest/vegeta/verdict.js';
import { textReport } from '../loadtest/vegeta/report.js';

const base = 'http://127.0.0.1:9';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');
let seq = 0;
/** One result line as vegeta encodes it. */
const result = (method: string, path: string, code: number, ms: number, body: unknown = null, error = '') => JSON.stringify({
  attack: 'mix', seq: seq++, code, timestamp: new Date(Date.UTC(2026, 10, 29, 12, 0, 0, seq * 100)).toISOString(),
  latency: Math.round(ms * 1e6), bytes_out: 0, bytes_in: 0, error, body: body === null ? null : b64(body), method,
  url: method ? `${base}${path}` : '', headers: null,
});
const report = (requests: number, rate: number): VegetaReport => ({
  requests, rate, throughput: rate, success: 1, duration: 1e9, wait: 1e6, latencies: {}, status_codes: {}, errors: [],
});

describe('load-test verdict', () => {
  it('when every response is good and the rate was kept, then every threshold passes and checks count each response', async () => {
    const cfg = loadConfig('smoke', { BASE_URL: base, RATE: '10', DURATION: '1s' });
    const lines = [];
    for (let i = 0; i < 5; i++) lines.push(result('POST', '/chat', 201, 3, { id: 1000 + i }));
    for (let i = 0; i < 3; i++) lines.push(result('GET', '/chat/1000', 200, 2, { username: 'u', text: 't', expiration_date: '2026-11-29 12:01:00' }));
    for (let i = 0; i < 2; i++) lines.push(result('GET', '/chats/u', 200, 4, [{ id: 1000, text: 't' }]));
    const c = await collect(Readable.from(lines.join('\n') + '\n'), true);
    const d = digest(cfg, c, report(10, 10.1), {});
    assert.equal(d.passed, true, JSON.stringify(d.thresholds));
    assert.deepEqual(d.checks.map((k) => k.passes), [5, 5, 3, 3, 2, 2]);
    assert.deepEqual(Object.fromEntries(Object.entries(d.endpoints).map(([k, v]) => [k, v.count])), { create: 5, get: 3, list: 2 });
    assert.match(textReport(d, 'x.json'), /result: PASS/);
  });

  it('when responses fail, shapes are wrong, the tail is slow and the rate fell behind, then each threshold fails by name', async () => {
    const cfg = loadConfig('mix', { BASE_URL: base, RATE: '100', DURATION: '1s', CHECK: '1' });
    const lines = [
      result('POST', '/chat', 500, 3, { error: { code: 'internal' } }),
      result('POST', '/chat', 201, 3, { id: 'not a number' }),
      result('GET', '/chats/u', 200, 900, [{ id: 1, text: 't', extra: true }]),
      result('GET', '/chat/1', 0, 10_000, null, 'Get "http://127.0.0.1:9/chat/1": context deadline exceeded'),
      result('', '', 0, 0, null, 'no targets to attack'),
      ...Array.from({ length: 20 }, () => result('GET', '/chat/1', 200, 2, { username: 'u', text: 't', expiration_date: '2026-11-29 12:01:00' })),
    ];
    const c = await collect(Readable.from(lines.join('\n') + '\n'), true);
    assert.equal(c.starved, 1, 'a result without a target is not a request');
    const d = digest(cfg, c, report(24, 40), {});
    const failed = d.thresholds.filter((t) => !t.ok).map((t) => t.name);
    assert.deepEqual(failed, ['failed requests', 'latency p95', 'latency p99', 'generator kept the rate', 'requests sent', 'checks']);
    assert.equal(d.failed_rate, 2 / 24);
    const failedChecks = d.checks.filter((k) => k.fails > 0).map((k) => k.name);
    assert.deepEqual(failedChecks, ['POST /chat: 201', 'POST /chat: {id: positive integer}', 'GET /chat/:id: 200',
      'GET /chat/:id: {username, text, expiration_date}', 'GET /chats/:username: [{id, text}]']);
    const text = textReport(d, 'x.json');
    assert.match(text, /result: FAIL: failed requests rate < 0\.001: was 0\.083333; latency p95 < 25 ms: was 900/);
    assert.match(text, /generator kept the rate sent >= 0\.99 x 100 req\/s: was 40/);
  });
});
