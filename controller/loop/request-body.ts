/**
 * Request bodies within a cap, for the webhook and the dashboard's predict proxy: Content-Length
 * is checked before a byte is read, and a body that grows past the cap stops being buffered.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * After a 413 the rest of an oversized body is read and dropped up to this many bytes, so that a
 * client still sending can read the answer instead of seeing a reset; beyond it the socket is cut.
 */
const DISCARD_LIMIT = 32 * 1024 * 1024;

export type Body = { ok: true; bytes: Buffer } | { ok: false; size: string };

/**
 * The request body up to `limit` bytes. Content-Length is checked before a byte is read; a body
 * that grows past the limit stops being buffered at once.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Body> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.resolve({ ok: false, size: `${declared} bytes` });
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.off('end', onEnd);
        req.pause();
        resolve({ ok: false, size: `over ${limit} bytes` });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => resolve({ ok: true, bytes: Buffer.concat(chunks, size) });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', reject);
  });
}

/**
 * 413 with `connection: close`, written before the rest of the body is read; the response is ended
 * (and the socket closed) once the client has sent everything, up to DISCARD_LIMIT. Ending at once
 * would close a socket with unread data, which the kernel turns into a reset that can reach the
 * client before it has read the answer.
 */
export function refuseTooLarge(req: IncomingMessage, res: ServerResponse, limit: number, size: string): void {
  const text = `${JSON.stringify({
    error: `the request body is ${size}; this endpoint accepts at most ${limit} bytes`,
  })}\n`;
  res.shouldKeepAlive = false;
  res.writeHead(413, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    connection: 'close',
  });
  res.write(text);
  if (req.complete) {
    res.end();
    return;
  }
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > DISCARD_LIMIT) {
      res.end();
      req.socket.destroy();
    }
  });
  req.on('end', () => res.end());
  req.on('error', () => res.destroy());
  req.resume();
}
