/**
 * The controller's HTTP server. node:http rather than fastify: a handful of routes, and the
 * webhook needs the raw body bytes for its HMAC, which node:http hands over as is (fastify would
 * need a custom content-type parser to keep them).
 *
 * Every HTTP client is untrusted (SECURITY.md). Routes are closed unless listed in OPEN_ROUTES:
 * probes and Prometheus scrapes (`/healthz`, `/readyz`, `/metrics`) are open, the webhook carries
 * its own HMAC signature, and everything else (`/api/status`, the dashboard's `/api/v1/*`) needs
 * `Authorization: Bearer <token>` whenever a token is configured; with the dashboard, GETs of its
 * pages and assets are open too (they hold no data: controller/web/). Bound beyond loopback, a
 * token is mandatory: the server refuses to start without one. Error bodies carry messages, never
 * stack traces, and connections are bounded (connection-bounds.ts).
 */
import { mapJsonLeaves } from '../../resources/json-walk.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import {
  applyBounds,
  CONTROLLER_BOUNDS,
  serverOptions,
  type ConnectionBounds,
} from '../../serving/connection-bounds.js';
import { bearerMatches } from './auth-token.js';
import { DeliveryMemory } from './delivery-memory.js';
import type { ControllerStatus } from './status-schema.js';
import { createDashboard, isAppPath, isOpenAppPath, type DashboardOptions } from '../web/dashboard-routes.js';
import { parsePage } from '../web/routes.js';
import { encodeCursor } from '../web/cursor.js';
import type { ApiError } from '../web/api.js';
import { readBody, refuseTooLarge } from './request-body.js';
import { verifySignature } from './webhook.js';
import type { WebhookOutcome } from './sync-loop.js';
import { errorMessage } from '../../resources/error-message.js';

export interface StatusServerOptions {
  /** `host:port`, `:port` or `port`; port 0 picks a free one. */
  listen: string;
  registry: Registry;
  status: () => ControllerStatus;
  isReady: () => boolean;
  isLeader: () => boolean;
  /** undefined: the webhook is disabled (no secret configured). */
  webhookSecret?: string;
  /**
   * Required as `Authorization: Bearer <token>` on every route that is not open. Mandatory when
   * the server is bound beyond loopback; when given, it is required on loopback too.
   */
  authToken?: string;
  onWebhook: () => WebhookOutcome;
  onWebhookRejected?: (reason: string) => void;
  /** Connection bounds; CONTROLLER_BOUNDS by default. */
  bounds?: ConnectionBounds;
  /** Seen webhook delivery ids; a fresh DeliveryMemory by default. */
  deliveries?: DeliveryMemory;
  /** Largest webhook body accepted (GitHub caps payloads at 25 MB; pushes are far smaller). */
  maxBodyBytes?: number;
  /**
   * The web dashboard (controller/web/): `/api/v1/*` behind the token like every `/api/` route,
   * the app's files and pages open (they hold no data). Without it those paths stay unknown.
   */
  dashboard?: DashboardOptions;
}

/** Served to anyone: kubelet probes and Prometheus carry no credentials. */
export const OPEN_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** The webhook authenticates by its HMAC signature (GitHub cannot send a bearer token). */
const WEBHOOK_ROUTE = '/hooks/git';

const MAX_BODY_BYTES = 5 * 1024 * 1024;

export function parseListen(listen: string): { host?: string; port: number } {
  const match = /^(?:(.*):)?(\d+)$/.exec(listen.trim());
  if (!match) throw new Error(`--listen "${listen}" is not host:port, :port or port`);
  const host = match[1] ? match[1].replace(/^\[(.*)\]$/, '$1') : undefined;
  return { host: host || undefined, port: Number(match[2]) };
}

/** The bound address is what counts: a host name may resolve to anything. */
export function isLoopbackAddress(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  type = 'application/json',
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** The first line of the message of anything thrown; never its stack. */
const firstLineOf = (e: unknown): string => errorMessage(e).split('\n', 1)[0];

/** A line of a V8 stack trace: `    at fn (file:1:2)`. */
const STACK_FRAME = /\n[ \t]+at [^\n]*/g;

/**
 * The status with stack frames removed from every string. The loop records messages, but a status
 * field fed from an error somewhere else must not hand a client the server's file layout.
 */
export function withoutStackFrames<T>(value: T): T {
  // Iterative, and keys stay own keys: the status quotes manifest values (issue 18, items 4, 11c).
  return mapJsonLeaves(value, (v) => (typeof v === 'string' ? v.replace(STACK_FRAME, '') : v)) as T;
}

/**
 * `?limit=&cursor=`: one page of the resources, with `nextCursor` while more follow. Without
 * either the status is whole, as `mlform get --server` reads it.
 */
function paged(
  status: ControllerStatus,
  query: URLSearchParams,
): { status: ControllerStatus } | { error: ApiError } {
  if (!query.has('limit') && !query.has('cursor')) return { status };
  const page = parsePage(query, 500);
  if ('error' in page) return { error: page.error };
  const end = page.offset + page.limit;
  return {
    status: {
      ...status,
      resources: status.resources.slice(page.offset, end),
      nextCursor: end < status.resources.length ? encodeCursor(end) : null,
    },
  };
}

export interface RunningServer {
  url: string;
  /** Whether the listening address is a loopback one. */
  loopback: boolean;
  close(): Promise<void>;
}

export async function startStatusServer(
  options: StatusServerOptions,
): Promise<{ server?: RunningServer; diagnostics: Diagnostic[] }> {
  const bounds = options.bounds ?? CONTROLLER_BOUNDS;
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const deliveries = options.deliveries ?? new DeliveryMemory();
  const dashboard = options.dashboard ? await createDashboard(options.dashboard) : undefined;
  const server: Server = createServer(serverOptions(bounds), (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, { error: `internal error: ${firstLineOf(e)}` });
      else res.destroy();
    });
  });
  applyBounds(server, bounds);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://controller');
    } catch {
      req.resume();
      return send(res, 400, { error: 'malformed request target' });
    }
    const path = url.pathname;
    if (path === WEBHOOK_ROUTE && req.method === 'POST') return webhook(req, res);
    const appPath =
      dashboard !== undefined && (req.method === 'GET' || req.method === 'HEAD') && isAppPath(path);
    // The dashboard's files and pages are open (the login form must load); its data is not.
    const open = OPEN_ROUTES.has(path) || path === WEBHOOK_ROUTE || (appPath && isOpenAppPath(path));
    if (!open && options.authToken !== undefined) {
      if (!bearerMatches(options.authToken, req.headers.authorization)) {
        req.resume();
        return send(
          res,
          401,
          {
            error:
              req.headers.authorization === undefined
                ? `${path} requires Authorization: Bearer <token> (the controller's --auth-token-file)`
                : "the bearer token does not match the controller's --auth-token-file",
          },
          'application/json',
          { 'www-authenticate': 'Bearer realm="mlform-controller"' },
        );
      }
    }
    if (dashboard && (appPath || path.startsWith('/api/v1/'))) return dashboard.handle(req, res, url);
    req.resume();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, { error: `${req.method} is not supported on ${path}` }, 'application/json', {
        allow: path === WEBHOOK_ROUTE ? 'POST' : 'GET, HEAD',
      });
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
      case '/api/status': {
        let status: ControllerStatus;
        try {
          status = withoutStackFrames(options.status());
        } catch (e) {
          return send(res, 500, { error: `cannot build the status: ${firstLineOf(e)}` });
        }
        const page = paged(status, url.searchParams);
        return 'error' in page ? send(res, 400, page.error) : send(res, 200, page.status);
      }
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
    const body = await readBody(req, maxBodyBytes);
    if (!body.ok) return refuseTooLarge(req, res, maxBodyBytes, body.size);
    const check = verifySignature(options.webhookSecret, body.bytes, req.headers['x-hub-signature-256']);
    if (check !== 'valid') {
      const reason =
        check === 'missing' ? 'missing X-Hub-Signature-256 header' : 'X-Hub-Signature-256 does not match';
      options.onWebhookRejected?.(reason);
      return send(res, 401, { error: reason });
    }
    const header = req.headers['x-github-delivery'];
    const delivery = Array.isArray(header) ? header[0] : header;
    if (delivery && deliveries.has(delivery)) {
      return send(res, 200, { status: 'duplicate delivery ignored', delivery });
    }
    const outcome = options.onWebhook();
    if (outcome === 'accepted') {
      // Only accepted deliveries count as seen: one refused by a standby or during shutdown may be
      // redelivered to the leader.
      if (delivery) deliveries.record(delivery);
      return send(res, 202, { status: 'sync queued' });
    }
    return send(res, 503, {
      error: outcome === 'standby' ? 'standby replica: send webhooks to the leader' : 'shutting down',
    });
  }

  const close = (): Promise<void> =>
    new Promise<void>((resolve) => {
      dashboard?.close();
      server.close(() => resolve());
      server.closeAllConnections();
    });

  let listen: { host?: string; port: number };
  try {
    listen = parseListen(options.listen);
  } catch (e) {
    return {
      diagnostics: [error('listen', firstLineOf(e), { hint: 'e.g. --listen 127.0.0.1:8080' })],
    };
  }
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    return {
      diagnostics: [
        error('listen', `cannot listen on ${options.listen}: ${firstLineOf(e)}`, {
          hint: 'choose another address with --listen (port 0 picks a free one)',
        }),
      ],
    };
  }
  const address = server.address() as AddressInfo;
  const loopback = isLoopbackAddress(address.address);
  if (!loopback && options.authToken === undefined) {
    await close();
    return {
      diagnostics: [
        error(
          'listen-without-token',
          `--listen ${options.listen} is reachable beyond this host, and /api/status would answer anyone`,
          {
            hint: 'give --auth-token-file FILE (e.g. openssl rand -hex 32 > token && chmod 600 token), or listen on 127.0.0.1',
          },
        ),
      ],
    };
  }
  const shownHost =
    address.family === 'IPv6'
      ? address.address === '::'
        ? 'localhost'
        : `[${address.address}]`
      : address.address;
  return {
    server: {
      url: `http://${shownHost === '0.0.0.0' ? '127.0.0.1' : shownHost}:${address.port}`,
      loopback,
      close,
    },
    diagnostics: [],
  };
}
