import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { historyFile } from './cluster-control.js';
import type { CheckReport } from './checker.js';

/** Prints the checker's counts in the test output and keeps them in the cache (results.jsonl) for docs/design.md. */
export function publish(t: TestContext, scenario: string, report: CheckReport, extra: Record<string, unknown>): void {
  const line = { scenario, at: new Date().toISOString(), ...report.inbox, numbering: report.numbering, edits: report.edits, ...extra };
  t.diagnostic(`${scenario}: ${JSON.stringify(line)}`);
  const file = join(dirname(historyFile(scenario)), '..', 'results.jsonl');
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}
