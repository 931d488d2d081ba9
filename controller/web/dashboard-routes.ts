/**
 * The dashboard's part of the HTTP server (`startStatusServer`'s `dashboard` option, used by `mlform
 * controller` and `mlform ui`): `/api/v1/*` documents built from the source's latest snapshot,
 * live streams, the predict proxy, and the browser app's files. The server decides who may call
 * (the bearer token guards every `/api/` route); this module answers what was let through.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { errorMessage } from '../../resources/error-message.js';
import { readBody, refuseTooLarge } from '../loop/request-body.js';
import { API_PREFIX, STREAM_PATH, UI_PAGES, type ApiError } from './api.js';
import { scrapeMetrics } from './metrics-scrape.js';
import { forwardPredict, PREDICT_MAX_BYTES } from './predict-proxy.js';
import { parseApiRoute, parseStreamPath, predictTarget } from './routes.js';
import type { BuildView, DashboardSource, ViewIO } from './snapshot.js';
import { acceptsGzip, loadStaticAssets, serveAsset, serveIndex, type StaticAssets } from './static-assets.js';
import { NO_SNAPSHOT, StreamHub } from './stream-hub.js';

const gzipAsync = promisify(gzip);

export interface DashboardOptions {
  source: DashboardSource;
  build: BuildView;
  /** Defaults to `viewIO(source)`. */
  io?: ViewIO;
  /** The built app; read from dist/web by default. */
  assets?: StaticAssets;
  /** Stream limits (tests). */
  maxStreams?: number;
  pingMs?: number;
}

export interface Dashboard {
  /** Answers `/api/v1/*`, `/assets/*` and the app's pages. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
  /** Ends every open stream. */
  close(): void;
  /** Streams open now. */
  readonly streams: StreamHub;
}

/** A view's I/O from a source: its provider, read-only, and loopback-only scrapes. */
export function viewIO(source: DashboardSource): ViewIO {
  return {
    get provider() {
      return source.provider;
    },
    get ctx() {
      return { ...source.ctx, readOnly: true };
    },
    now: () => new Date(),
    scrapeMetrics,
  };
}

/** The app's page URLs (UI_PAGES) and its files: open to anyone, since they hold no data. */
const OPEN_APP_PATHS = [
  ...Object.values(UI_PAGES).map((page) => new RegExp(`^${page.replace(':name', '[^/]+')}$`)),
  /^\/assets\//,
];

export const isOpenAppPath = (path: string): boolean => OPEN_APP_PATHS.some((re) => re.test(path));

/**
 * Paths the app answers (index.html, or an asset), as opposed to the server's own routes. Those
 * that are not its known pages stay behind the token like any unknown path, so nothing can be
 * probed anonymously; past it the app shows its own "not found".
 */
export function isAppPath(path: string): boolean {
  return !(
    path === '/api' ||
    path.startsWith('/api/') ||
    path.startsWith('/hooks/') ||
    path === '/healthz' ||
    path === '/readyz' ||
    path === '/metrics'
  );
}

/** A JSON answer, gzipped when the client accepts it; never cached (documents change). */
export async function sendJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<void> {
  const text = Buffer.from(`${JSON.stringify(body)}\n`);
  const zipped = acceptsGzip(req) && text.length > 1024;
  const bytes = zipped ? await gzipAsync(text) : text;
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'content-length': bytes.length,
    vary: 'accept-encoding',
    ...(zipped && { 'content-encoding': 'gzip' }),
    ...headers,
  });
  res.end(bytes);
}

export async function createDashboard(options: DashboardOptions): Promise<Dashboard> {
  const { source, build } = options;
  const io = options.io ?? viewIO(source);
  const assets = options.assets ?? (await loadStaticAssets());
  const streams = new StreamHub({
    source,
    build: (route, snapshot) => build(route, snapshot, io),
    ...(options.maxStreams !== undefined && { maxStreams: options.maxStreams }),
    ...(options.pingMs !== undefined && { pingMs: options.pingMs }),
  });

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    source.touch?.();
    const predict = predictTarget(url.pathname);
    if (predict) {
      if (method !== 'POST') {
        req.resume();
        return sendJson(
          req,
          res,
          405,
          { error: `${method} is not supported on ${url.pathname}` },
          { allow: 'POST' },
        );
      }
      if ('error' in predict) {
        req.resume();
        return sendJson(req, res, 400, predict.error);
      }
      const body = await readBody(req, PREDICT_MAX_BYTES);
      if (!body.ok) return refuseTooLarge(req, res, PREDICT_MAX_BYTES, body.size);
      const snapshot = source.current();
      if (!snapshot) return sendJson(req, res, 503, NO_SNAPSHOT);
      const answer = await forwardPredict(snapshot, predict.name, body.bytes);
      return sendJson(req, res, answer.status, answer.status === 200 ? answer.result : answer.error);
    }
    req.resume();
    if (url.pathname === STREAM_PATH && method === 'GET') {
      const parsed = parseStreamPath(url.searchParams);
      if (!('route' in parsed)) return sendJson(req, res, parsed.status, parsed.error);
      if (!streams.open(res, parsed.route, parsed.key ?? '')) {
        return sendJson(req, res, 503, {
          error: 'too many open streams',
          hint: 'close other dashboard tabs, or fetch the document without streaming',
        } satisfies ApiError);
      }
      return;
    }
    const parsed = parseApiRoute(method, url.pathname, url.searchParams);
    if (!('route' in parsed)) {
      return sendJson(
        req,
        res,
        parsed.status,
        parsed.error,
        parsed.status === 405 ? { allow: 'GET, HEAD' } : {},
      );
    }
    const snapshot = source.current();
    if (!snapshot) return sendJson(req, res, 503, NO_SNAPSHOT);
    let result;
    try {
      result = await build(parsed.route, snapshot, io);
    } catch (e) {
      return sendJson(req, res, 500, {
        error: `cannot build the document: ${errorMessage(e).split('\n', 1)[0]}`,
      });
    }
    return sendJson(req, res, result.status, result.status === 200 ? result.doc : result.error);
  }

  return {
    streams,
    close: () => streams.close(),
    async handle(req, res, url) {
      if (url.pathname.startsWith(`${API_PREFIX}/`)) return api(req, res, url);
      req.resume();
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return sendJson(
          req,
          res,
          405,
          { error: `${req.method} is not supported on ${url.pathname}` },
          { allow: 'GET, HEAD' },
        );
      }
      // `/assets/../x` is normalised to `/x` by URL parsing: judged by what was asked, it is an
      // asset request, and answered from the listing only (404), never with the app page.
      const asked = (req.url ?? '').split('?', 1)[0];
      if (url.pathname.startsWith('/assets/') || asked.startsWith('/assets/')) {
        return serveAsset(assets, req, res, url.pathname);
      }
      return serveIndex(assets, req, res);
    },
  };
}
