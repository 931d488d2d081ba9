/**
 * One POST to a checked destination (destination.ts): connects to the address that was checked
 * (the host name still drives SNI and certificate checks), follows no redirect, gives up after a
 * timeout and reads at most `MAX_RESPONSE_BYTES` of the answer. TLS is verified as usual; the
 * operator may add a CA bundle (`--notify-ca`, or Node's own `NODE_EXTRA_CA_CERTS`) for a receiver
 * with a private certificate authority. Errors never carry the URL.
 */
import { request } from 'node:https';
import { rootCertificates } from 'node:tls';
import { pinnedLookup, type CheckedDestination } from './destination.js';

/** Receivers answer "ok" or a short JSON; more is not read. */
export const MAX_RESPONSE_BYTES = 4096;
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface PostOptions {
  headers: Record<string, string>;
  body: string;
  timeoutMs?: number;
  /** Extra trusted CA certificates (PEM), added to Node's defaults. */
  ca?: readonly string[];
}

export interface PostResult {
  status: number;
  /** At most MAX_RESPONSE_BYTES of the body. */
  body: string;
}

export class DeliveryError extends Error {
  override name = 'DeliveryError';
}

export function postPinned(sink: string, to: CheckedDestination, options: PostOptions): Promise<PostResult> {
  const { url } = to;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const req = request(
      {
        method: 'POST',
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port === '' ? 443 : Number(url.port),
        path: `${url.pathname}${url.search}`,
        headers: { ...options.headers, 'content-length': String(Buffer.byteLength(options.body)) },
        lookup: pinnedLookup(to),
        // `ca` replaces Node's roots, so they go along with the operator's: verification stays on.
        ...(options.ca && options.ca.length > 0 && { ca: [...rootCertificates, ...options.ca] }),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size >= MAX_RESPONSE_BYTES) return;
          chunks.push(chunk.subarray(0, MAX_RESPONSE_BYTES - size));
          size += Math.min(chunk.length, MAX_RESPONSE_BYTES - size);
          // Enough read: the rest is not ours to buffer.
          if (size >= MAX_RESPONSE_BYTES) {
            finish(() =>
              resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
            );
            res.destroy();
          }
        });
        res.on('end', () =>
          finish(() =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          ),
        );
        res.on('error', () =>
          finish(() => reject(new DeliveryError(`sink ${sink}: the response broke off`))),
        );
      },
    );
    const timer = setTimeout(() => {
      finish(() => reject(new DeliveryError(`sink ${sink}: no answer within ${timeoutMs} ms`)));
      req.destroy();
    }, timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) =>
      finish(() => reject(new DeliveryError(`sink ${sink}: ${connectionProblem(e)}`))),
    );
    req.end(options.body);
  });
}

/** The failure in words, from its code: a system message could quote the host or path. */
function connectionProblem(e: NodeJS.ErrnoException): string {
  const code = e.code ?? '';
  if (code.startsWith('ERR_TLS') || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
    return `TLS verification failed (${code}); a private CA is trusted with --notify-ca or NODE_EXTRA_CA_CERTS`;
  }
  return `cannot connect (${code || 'error'})`;
}

/** The status as an error unless 2xx; the body is not quoted (a receiver could echo the URL). */
export function expectOk(sink: string, result: PostResult): void {
  if (result.status < 200 || result.status >= 300) {
    throw new DeliveryError(`sink ${sink}: the receiver answered HTTP ${result.status}`);
  }
}
