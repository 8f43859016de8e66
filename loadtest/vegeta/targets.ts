/**
 * vegeta targets for the mix, one JSON object a line (`vegeta attack -format=json -lazy` reads them as it
 * needs them): PCT_CREATE % POST /chat, PCT_GET % GET /chat/:id of a seeded id, the rest GET
 * /chats/:username, users drawn from Zipf(ZIPF_S) over USERS.
 */
import type { Writable } from 'node:stream';
import type { LoadConfig } from './config.js';
import { zipfSampler } from './zipf.js';

const WORDS = ('the quick brown fox jumps over lazy dog meet me at noon see you soon ok thanks lunch call later '
  + 'café naïve über 漢字 🙂 ship it done tomorrow review please ping').split(' ');

/** ~15-200 bytes, some of it non-ASCII. */
function randomText(): string {
  const n = 3 + Math.floor(Math.random() * 30);
  return Array.from({ length: n }, () => WORDS[Math.floor(Math.random() * WORDS.length)]).join(' ');
}

/** Mostly the default timeout (60 s), some short ones that expire during a run, some long. */
function randomTimeoutField(): string {
  const u = Math.random();
  if (u < 0.6) return '';
  if (u < 0.75) return ',"timeout":10';
  if (u < 0.95) return ',"timeout":300';
  return ',"timeout":3600';
}

const JSON_HEADER = '{"Content-Type":["application/json"]}';

/** A function that returns the next target line (with its newline). */
export function mixTargets(cfg: LoadConfig, seedIds: readonly number[]): () => string {
  if (cfg.pctGet > 0 && seedIds.length === 0) throw new Error('GET /chat/:id needs seeded ids (SEED_IDS > 0)');
  const rank = zipfSampler(cfg.users, cfg.zipfS);
  // 512 texts JSON-encoded once: encoding a fresh one per request costs more than the request saves.
  const texts = Array.from({ length: 512 }, () => JSON.stringify(randomText()));
  const user = (r: number) => `${cfg.prefix}-user-${r}`;
  const createUrl = JSON.stringify(`${cfg.baseUrl}/chat`);
  return () => {
    const u = Math.random() * 100;
    if (u < cfg.pctCreate) {
      const body = `{"username":${JSON.stringify(user(rank()))},"text":${texts[Math.floor(Math.random() * texts.length)]}${randomTimeoutField()}}`;
      return `{"method":"POST","url":${createUrl},"body":"${Buffer.from(body).toString('base64')}","header":${JSON_HEADER}}\n`;
    }
    if (u < cfg.pctCreate + cfg.pctGet) {
      const id = seedIds[Math.floor(Math.random() * seedIds.length)]!;
      return `{"method":"GET","url":"${cfg.baseUrl}/chat/${id}"}\n`;
    }
    return `{"method":"GET","url":${JSON.stringify(`${cfg.baseUrl}/chats/${encodeURIComponent(user(rank()))}`)}}\n`;
  };
}

/**
 * Writes `count` targets to `out` in chunks, waiting whenever the pipe is full: vegeta reads lazily, so
 * this process sleeps while vegeta paces the attack. Resolves when all were written or the reader went away.
 */
export async function streamTargets(out: Writable, next: () => string, count: number): Promise<number> {
  let written = 0;
  let gone = false;
  out.on('error', () => { gone = true; }); // EPIPE: vegeta stopped reading (duration over)
  while (written < count && !gone && !out.destroyed) {
    let chunk = '';
    const n = Math.min(256, count - written);
    for (let i = 0; i < n; i++) chunk += next();
    written += n;
    if (!out.write(chunk) && !out.destroyed) {
      await new Promise<void>((resolve) => {
        const done = () => { out.off('drain', done); out.off('close', done); out.off('error', done); resolve(); };
        out.once('drain', done);
        out.once('close', done);
        out.once('error', done);
      });
    }
  }
  gone ||= out.destroyed;
  if (!gone) out.end();
  return written;
}
