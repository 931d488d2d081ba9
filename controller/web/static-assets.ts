/**
 * The browser app's files (`dist/web`, built by `npm run build`), read once into memory with a
 * gzip of each. Requests are answered from that listing by exact name: request input is never
 * joined to a path, so nothing outside the folder can be named. The files hold no data, so they
 * are open to anyone (the login form must load without a token).
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** At run time this module is `dist/controller/web/static-assets.js`; the app is `dist/web`. */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../web', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

/**
 * The app runs without inline script or style and talks to its own origin only (the browser
 * tests serve the same policy and fail on any violation).
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/** Headers of every HTML answer: no framing, no foreign script or connection, no referrer. */
export const HTML_SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

interface Asset {
  body: Buffer;
  gzip: Buffer;
  type: string;
}

export interface StaticAssets {
  /** `index.html`; undefined when the app is not built. */
  index: Asset | undefined;
  /** By request path: `/assets/index-abc.js`. */
  files: ReadonlyMap<string, Asset>;
}

const asset = (body: Buffer, name: string): Asset => ({
  body,
  gzip: gzipSync(body),
  type: CONTENT_TYPES[extname(name)] ?? 'application/octet-stream',
});

/** Reads the built app; a missing folder gives an empty listing (the server says to build). */
export async function loadStaticAssets(dir: string = DEFAULT_WEB_DIR): Promise<StaticAssets> {
  const index = await readFile(join(dir, 'index.html')).catch(() => undefined);
  const files = new Map<string, Asset>();
  const names = await readdir(join(dir, 'assets'), { withFileTypes: true }).catch(() => []);
  for (const entry of names) {
    if (!entry.isFile()) continue;
    files.set(`/assets/${entry.name}`, asset(await readFile(join(dir, 'assets', entry.name)), entry.name));
  }
  return { index: index && asset(index, 'index.html'), files };
}

export const acceptsGzip = (req: IncomingMessage): boolean =>
  /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));

function write(
  req: IncomingMessage,
  res: ServerResponse,
  file: Asset,
  headers: Record<string, string>,
): void {
  const gzip = acceptsGzip(req);
  const body = gzip ? file.gzip : file.body;
  res.writeHead(200, {
    'content-type': file.type,
    'content-length': body.length,
    vary: 'accept-encoding',
    ...(gzip && { 'content-encoding': 'gzip' }),
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** `/assets/<file>`: from the listing, or 404. */
export function serveAsset(
  assets: StaticAssets,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): void {
  const file = assets.files.get(path);
  if (!file) {
    const text = `${JSON.stringify({ error: `no asset ${path.slice(0, 80)}` })}\n`;
    res.writeHead(404, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
    return;
  }
  write(req, res, file, {
    'cache-control': 'public, max-age=31536000, immutable',
    'x-content-type-options': 'nosniff',
  });
}

/** Any page URL of the app: index.html, so that its URLs can be shared; 503 when not built. */
export function serveIndex(assets: StaticAssets, req: IncomingMessage, res: ServerResponse): void {
  if (!assets.index) {
    const text = 'The dashboard is not built: run `npm run build` (it writes dist/web), then restart.\n';
    res.writeHead(503, {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
    return;
  }
  write(req, res, assets.index, { 'cache-control': 'no-cache', ...HTML_SECURITY_HEADERS });
}
