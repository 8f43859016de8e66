import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { contractFetch, startTestServer } from './support/harness.js';
import type { RunningServer } from '../src/server.js';

describe('GET /docs in headless Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  before(async () => {
    server = await startTestServer();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('when /docs is fetched, then it is HTML with a CSP that allows same-origin scripts, and only that page gets it', async () => {
    const page = await contractFetch(`${server.url}/docs`);
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy')!;
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-eval|https?:/, 'no eval, no outside origin');
    const api = await contractFetch(`${server.url}/healthz`);
    assert.equal(api.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'");
    const missing = await contractFetch(`${server.url}/docs/assets/package.json`);
    assert.equal(missing.status, 404, 'only the listed files of node_modules are served');
  });

  it('when the page is opened, then the title and the three inbox paths render, offline, with no CSP violation', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const problems: string[] = [];
    const origins = new Set<string>();
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('request', (r) => { if (!r.url().startsWith('data:')) origins.add(new URL(r.url()).origin); });
    await page.goto(`${server.url}/docs`);
    await page.locator('.opblock-summary-path').first().waitFor({ timeout: 20_000 });

    assert.equal(await page.title(), 'Ephemera API');
    assert.match(await page.locator('.info .title').first().innerText({ timeout: 5000 }), /Ephemera API/);
    const paths = await page.locator('.opblock-summary-path').evaluateAll((els) => els.map((e) => e.getAttribute('data-path')));
    for (const p of ['/chat', '/chat/{id}', '/chats/{username}']) assert.ok(paths.includes(p), `${p} is rendered (saw ${paths.join(', ')})`);
    assert.deepEqual([...origins], [server.url], 'everything is loaded from the service itself');
    assert.deepEqual(problems, [], 'no script error and no Content-Security-Policy violation');
    // Opening POST /chat shows its request headers and body: the document's detail reaches the page.
    await page.locator('.opblock-post .opblock-summary').first().click();
    await page.getByText('Idempotency-Key', { exact: true }).first().waitFor({ timeout: 10_000 });
    if (process.env.DOCS_SCREENSHOT) await page.screenshot({ path: process.env.DOCS_SCREENSHOT });
    await page.close();
  });
});
