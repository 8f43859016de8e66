import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { AppError, badRequest } from '../errors.js';

const DECODERS: Record<string, () => zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

/**
 * Collects the request body, decoded per Content-Encoding, refusing it once it passes `limit` bytes. On refusal
 * the rest of the request is drained and discarded rather than the socket destroyed, so the client still
 * receives its 413.
 */
export function readBytes(req: IncomingMessage, encoding: string, limit: number,
  tooLarge: (limit: number) => AppError): Promise<Buffer> {
  const name = encoding.trim().toLowerCase();
  let source: Readable = req;
  if (name !== '' && name !== 'identity') {
    const make = DECODERS[name];
    if (!make) throw new AppError(415, 'unsupported_media_type', `the content encoding ${JSON.stringify(name)} is not supported`);
    source = req.pipe(make());
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (err: AppError) => {
      source.removeAllListeners('data');
      if (source !== req) { req.unpipe(); (source as zlib.Gunzip).destroy(); }
      req.resume();
      reject(err);
    };
    source.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) stop(tooLarge(limit));
      else chunks.push(chunk);
    });
    source.once('end', () => resolve(Buffer.concat(chunks)));
    source.once('error', (err: Error & { code?: string }) => {
      if (source === req) reject(badRequest('invalid_body', 'the request body was cut short'));
      else stop(badRequest('invalid_body', `the body is not valid ${name} data (${err.code ?? 'corrupt'})`));
    });
    req.once('aborted', () => reject(badRequest('invalid_body', 'the request body was cut short')));
  });
}
