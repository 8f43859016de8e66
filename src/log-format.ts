/**
 * Human-readable log lines for a terminal (`make run`): pino's JSON line becomes
 * `12:03:04.123 INFO  listening port=8080`. Only used when stdout is a TTY; pipes and log collectors get JSON.
 */
const LEVEL_COLOURS: Record<string, number> = { trace: 90, debug: 36, info: 32, warn: 33, error: 31, fatal: 35 };
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'name', 'err']);

export function formatLogLine(line: string, colour: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = String(entry.level ?? 'info');
  const paint = (code: number, text: string) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text);
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
  const fields = Object.entries(entry)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${paint(90, `${k}=`)}${typeof v === 'string' ? v : JSON.stringify(v)}`);
  let out = `${paint(90, time)} ${paint(LEVEL_COLOURS[level] ?? 0, level.toUpperCase().padEnd(5))} ${String(entry.msg ?? '')}`;
  if (fields.length) out += ` ${fields.join(' ')}`;
  const err = entry.err as { message?: string; stack?: string } | string | undefined;
  if (typeof err === 'string') out += ` ${paint(90, 'err=')}${err}`;
  else if (err) out += `\n    ${(err.stack ?? err.message ?? JSON.stringify(err)).replaceAll('\n', '\n    ')}`;
  return `${out}\n`;
}

/** A pino destination writing formatted lines to a terminal stream. */
export function prettyDestination(out: NodeJS.WriteStream) {
  const colour = out.hasColors?.() ?? false;
  return { write: (line: string) => { out.write(formatLogLine(line, colour)); } };
}
