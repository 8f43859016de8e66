import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'loadtest/k6/', 'loadtest/*.mjs', 'loadtest/results/', 'loadtest/data/', 'charts/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  // The dashboard page's own scripts run in the browser (ES modules; uPlot is a global from its IIFE build).
  {
    files: ['scripts/dev/dashboard/page/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(['window', 'document', 'location', 'history', 'fetch', 'URLSearchParams', 'URL',
        'setTimeout', 'clearTimeout', 'console', 'uPlot'].map((g) => [g, 'readonly'])),
    },
  },
  // The floors of the house: storage and ids know no product; a product knows no transport and no worker.
  {
    files: ['src/storage/**/*.ts', 'src/ids/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{
        group: ['**/inbox/*', '**/chats/*', '**/http/*', '**/workers/*', '**/search/*'],
        message: 'storage/ and ids/ are shared floors: they must not import a product, http/, search/ or workers/.',
      }] }],
    },
  },
  // A product domain knows no transport, no worker and no entry point; and the two products know nothing of each
  // other: what they share lives on a floor below them.
  {
    files: ['src/inbox/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [
      { group: ['**/http/*', '**/workers/*'], message: 'a product domain must not import http/ or workers/ (they import it).' },
      { regex: '^\\.\\./(cli|server|cluster|banner)\\.js$', message: 'a product domain must not import an entry point.' },
      { group: ['**/chats/*'], message: 'inbox/ must not import chats/ (products never import each other).' },
    ] }] },
  },
  {
    files: ['src/chats/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [
      { group: ['**/http/*', '**/workers/*'], message: 'a product domain must not import http/ or workers/ (they import it).' },
      { regex: '^\\.\\./(cli|server|cluster|banner)\\.js$', message: 'a product domain must not import an entry point.' },
      { group: ['**/inbox/*'], message: 'chats/ must not import inbox/ (products never import each other).' },
    ] }] },
  },
  // search/ serves the chats product (it indexes and queries its change events) and must not know it in return.
  {
    files: ['src/search/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{
      group: ['**/inbox/*', '**/chats/*', '**/workers/*', '**/http/*'],
      message: 'search/ must not import a product, workers/ or http/ (they import it).',
    }] }] },
  },
  // http/ by product: the inbox's routes and the chats' routes share only what lies directly in http/ (app, error
  // handler, body reader, Idempotency-Key, rate limits...), never each other's files or product.
  {
    files: ['src/http/inbox/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{
      group: ['**/chats/*', '**/search/*'], message: 'http/inbox/ must not import chats (http/chats/ or src/chats/) or search/.',
    }] }] },
  },
  {
    files: ['src/http/chats/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{
      group: ['**/inbox/*'], message: 'http/chats/ must not import the inbox (http/inbox/ or src/inbox/).',
    }] }] },
  },
  // workers/: one folder per worker (archiver/, counts/, indexer/) over the files they share (loop.ts,
  // worker-process.ts, worker-metrics.ts, skew-gate.ts). A worker never imports another; the shared files import none.
  ...['archiver', 'counts', 'indexer'].map((worker, _, workers) => ({
    files: [`src/workers/${worker}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: [{
      group: workers.filter((w) => w !== worker).map((w) => `**/${w}/*`),
      message: 'a worker (workers/archiver, counts, indexer) must not import another: what they share is in workers/.',
    }] }] },
  })),
  {
    files: ['src/workers/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{
      group: ['**/archiver/*', '**/counts/*', '**/indexer/*'],
      message: 'the shared files of workers/ must not import a worker (its folder imports them).',
    }] }] },
  },
  // The ground floor (configuration, errors, logging, identity): every floor imports it, so it imports none of them,
  // only its own files and packages.
  {
    files: ['src/config.ts', 'src/errors.ts', 'src/logger.ts', 'src/log-format.ts', 'src/cpus.ts', 'src/process-identity.ts',
      'src/async.ts', 'src/clock.ts', 'src/parse-object.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{
      regex: '^\\.(\\.)?/([^/]+/|(cli|server|cluster|banner)\\.js$)',
      message: 'a ground file (config, errors, logger, log-format, cpus, process-identity, async, clock, parse-object) imports only other ground files.',
    }] }] },
  },
);
