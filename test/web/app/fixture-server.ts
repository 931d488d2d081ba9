/**
 * A tiny stand-in for the dashboard server in the app's browser tests: serves a built `dist/web`
 * (index.html for every non-API path), answers `/api/v1/stream?path=` with Server-Sent Events from
 * fixture documents (`push` sends a later event to open streams), the predict proxy with an echo,
 * and 401s while a token is required and not presented. Pages carry CONTENT_SECURITY_POLICY.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { ApiDocument, ApiError } from '../../../controller/web/api.js';
import { CONTENT_SECURITY_POLICY } from '../../../controller/web/static-assets.js';

export interface FixtureServer {
  url: string;
  /** Sends a new document to every open stream of `apiPath` (and to later ones). */
  push(apiPath: string, doc: ApiDocument): void;
  /** Sends an `event: problem` to every open stream of `apiPath`. */
  problem(apiPath: string, error: ApiError): void;
  /** Ends every open stream (a dropped connection); the app should reconnect. */
  dropStreams(): void;
  /** API paths the streams asked for, in order. */
  streamed: string[];
  /** How many streams are open now. */
  openStreams(): number;
  /** Bodies the predict proxy received. */
  predicted: string[];
  close(): Promise<void>;
}

/** The policy the real server sends: a violation shows up as a console error in the tests. */
export { CONTENT_SECURITY_POLICY };

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export async function startFixtureServer(options: {
  root: string;
  /** API path (with its query) -> document; an unknown path answers 404. */
  docs: Map<string, ApiDocument>;
  token?: string;
}): Promise<FixtureServer> {
  const streams = new Map<string, Set<ServerResponse>>();
  const streamed: string[] = [];
  const predicted: string[] = [];

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const api = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) {
      return json(res, 401, { error: 'a bearer token is required', hint: 'paste the controller token' });
    }
    const predict = /^\/api\/v1\/deployedendpoints\/([^/]+)\/predict$/.exec(url.pathname);
    if (predict && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      predicted.push(body);
      return json(res, 200, {
        status: 200,
        body: JSON.stringify({ predictions: [[17.5]] }),
        durationMs: 3.25,
      });
    }
    if (url.pathname !== '/api/v1/stream') return json(res, 404, { error: `no route ${url.pathname}` });
    const path = url.searchParams.get('path') ?? '';
    streamed.push(path);
    const doc = options.docs.get(path);
    if (!doc) return json(res, 404, { error: `no document for ${path}`, hint: 'try mpg-mlp' });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    // Split across writes on purpose: the app must reassemble events from chunks.
    const text = `: ping\n\nevent: doc\ndata: ${JSON.stringify(doc)}\n\n`;
    res.write(text.slice(0, 20));
    res.write(text.slice(20));
    let open = streams.get(path);
    if (!open) streams.set(path, (open = new Set()));
    open.add(res);
    req.on('close', () => open.delete(res));
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/api/')) {
      void api(req, res, url).catch((error: unknown) => json(res, 500, { error: String(error) }));
      return;
    }
    const file = url.pathname.startsWith('/assets/')
      ? normalize(url.pathname).replace(/^\/+/, '')
      : 'index.html';
    void readFile(join(options.root, file)).then(
      (body) => {
        res.writeHead(200, {
          'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
          'content-security-policy': CONTENT_SECURITY_POLICY,
        });
        res.end(body);
      },
      () => json(res, 404, { error: 'no such asset' }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const send = (apiPath: string, event: string, data: unknown) => {
    for (const res of streams.get(apiPath) ?? [])
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const endAll = () => {
    for (const open of streams.values()) for (const res of open) res.end();
    streams.clear();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    streamed,
    predicted,
    openStreams: () => [...streams.values()].reduce((n, open) => n + open.size, 0),
    push(apiPath, doc) {
      options.docs.set(apiPath, doc);
      send(apiPath, 'doc', doc);
    },
    problem: (apiPath, error) => send(apiPath, 'problem', error),
    dropStreams: endAll,
    close() {
      endAll();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
