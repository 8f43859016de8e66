/**
 * Preload that turns tracing on before any application module is loaded:
 *
 *   node --import ./dist/observability/instrument.js dist/cli.js serve
 *
 * It does nothing unless the standard OTEL_* variables configure an exporter (see tracing.ts), so it is safe to
 * use always. ES modules can only be patched if import-in-the-middle's loader hook is registered before they
 * are imported; koa (ESM entry) and `node:http` imported from ESM need it, cassandra-driver's CommonJS files are
 * patched through require-in-the-middle.
 */
import { isMainThread } from 'node:worker_threads';
import { bootTracing } from './tracing.js';

if (isMainThread) await bootTracing({ startedBy: 'preload' });
