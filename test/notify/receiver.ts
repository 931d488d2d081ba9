/**
 * A local HTTPS receiver for notification tests: a self-signed certificate made with openssl for
 * `localhost`, `hooks.example.test` and 127.0.0.1 (trusted through the sender's CA option, never
 * by turning verification off), recording every request.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  port: number;
  /** PEM of the receiver's certificate: the CA a sender must trust. */
  cert: string;
  certFile: string;
  url(path?: string, host?: string): string;
  received: Received[];
  /** What to answer; default 200 "ok". */
  respond: (req: Received, res: ServerResponse) => void;
  waitFor(predicate: (all: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function selfSignedCert(): Promise<{ key: string; cert: string; certFile: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mlform-notify-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,DNS:hooks.example.test,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8'), certFile };
}

export async function startReceiver(): Promise<Receiver> {
  const tls = await selfSignedCert();
  const received: Received[] = [];
  const waiters = new Set<() => void>();
  const receiver: Receiver = {
    port: 0,
    cert: tls.cert,
    certFile: tls.certFile,
    url: (path = '/hook', host = 'localhost') => `https://${host}:${receiver.port}${path}`,
    received,
    respond: (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'),
    waitFor: (predicate, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(received)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`receiver: condition not met in ${timeoutMs} ms (${received.length} received)`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      receiver.respond(r, res);
      for (const w of [...waiters]) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  receiver.port = typeof address === 'object' && address ? address.port : 0;
  server.closeIdleConnections?.();
  return receiver;
}
