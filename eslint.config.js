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
  {
    files: ['src/inbox/**/*.ts', 'src/chats/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{
        group: ['**/http/*', '**/workers/*'],
        message: 'a product domain must not import http/ or workers/ (they import it).',
      }] }],
    },
  },
);
