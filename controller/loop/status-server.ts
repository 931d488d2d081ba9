/**
 * The controller's HTTP server. node:http rather than fastify: five routes, and the webhook needs
 * the raw body bytes for its HMAC, which node:http hands over as is (fastify would need a custom
 * content-type parser to keep them). `/healthz` answers whenever the process does.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ControllerStatus } from './status-schema.js';
import { verifySignature } from './webhook.js';
import type { WebhookOutcome } from './sync-loop.js';

export interface StatusServerOptions {
  /** `host:port`, `:port` or `port`; port 0 picks a free one. */
  listen: string;
  registry: Registry;
  status: () => ControllerStatus;
  isReady: () => boolean;
  isLeader: () => boolean;
  /** undefined: the webhook is disabled (no secret configured). */
  webhookSecret?: string;
  onWebhook: () => WebhookOutcome;
  onWebhookRejected?: (reason: string) => void;
}

const MAX_BODY_BYTES = 5 * 1024 * 1024;

export function parseListen(listen: string): { host?: string; port: number } {
  const match = /^(?:(.*):)?(\d+)$/.exec(listen.trim());
  if (!match) throw new Error(`--listen "${listen}" is not host:port, :port or port`);
  const host = match[1] ? match[1].replace(/^\[(.*)\]$/, '$1') : undefined;
  return { host: host || undefined, port: Number(match[2]) };
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export async function startStatusServer(options: StatusServerOptions): Promise<RunningServer> {
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, { error: e instanceof Error ? e.message : String(e) });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://controller').pathname;
    if (req.method === 'POST' && path === '/hooks/git') return webhook(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, { error: `${req.method} is not supported on ${path}` });
    }
    switch (path) {
      case '/healthz':
        return send(res, 200, 'ok\n', 'text/plain');
      case '/readyz':
        return options.isReady()
          ? send(res, 200, 'ready\n', 'text/plain')
          : send(
              res,
              503,
              options.isLeader() ? 'not ready: no successful sync yet\n' : 'not ready: standby replica\n',
              'text/plain',
            );
      case '/metrics':
        return send(res, 200, await options.registry.metrics(), options.registry.contentType);
      case '/api/status':
        return send(res, 200, options.status());
      default:
        return send(res, 404, { error: `no route ${path}` });
    }
  }

  async function webhook(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!options.webhookSecret) {
      req.resume();
      return send(res, 404, {
        error:
          'the webhook is disabled: start the controller with --webhook-secret-file or MLFORM_WEBHOOK_SECRET',
      });
    }
    const body = await readBody(req);
    if (!body) return send(res, 413, { error: `body larger than ${MAX_BODY_BYTES} bytes` });
    const check = verifySignature(options.webhookSecret, body, req.headers['x-hub-signature-256']);
    if (check !== 'valid') {
      const reason =
        check === 'missing' ? 'missing X-Hub-Signature-256 header' : 'X-Hub-Signature-256 does not match';
      options.onWebhookRejected?.(reason);
      return send(res, 401, { error: reason });
    }
    const outcome = options.onWebhook();
    if (outcome === 'accepted') return send(res, 202, { status: 'sync queued' });
    return send(res, 503, {
      error: outcome === 'standby' ? 'standby replica: send webhooks to the leader' : 'shutting down',
    });
  }

  const { host, port } = parseListen(options.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost =
    address.family === 'IPv6'
      ? address.address === '::'
        ? 'localhost'
        : `[${address.address}]`
      : address.address;
  return {
    url: `http://${shownHost === '0.0.0.0' ? 'localhost' : shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
