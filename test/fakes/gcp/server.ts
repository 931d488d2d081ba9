/** The HTTP server: routing, latency, faults, request log. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { FakeEnv, InternalRequest, InternalResponse } from './env.js';
import { faultError } from './faults.js';
import { ApiError, sleep, type Api, type HandlerContext, type HandlerResult } from './http.js';
import type { FakeRequest } from './request-log.js';
import type { Router } from './router.js';

export class FakeServer {
  readonly requests: FakeRequest[] = [];
  private readonly server: Server;
  private readonly pending = new Set<ServerResponse>();
  private closing = new AbortController();

  constructor(
    private readonly env: FakeEnv,
    private readonly router: Router,
  ) {
    this.server = createServer((req, res) => {
      void this.onRequest(req, res);
    });
    env.dispatch = (r) => this.internal(r);
  }

  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  close(): Promise<void> {
    this.closing.abort();
    for (const res of this.pending) res.destroy();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.pending.add(res);
    res.on('close', () => this.pending.delete(res));
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const ctxBase = {
      method: (req.method ?? 'GET').toUpperCase(),
      rawPath: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks),
      internal: false,
    };
    const result = await this.handle(ctxBase);
    if (res.destroyed) return;
    const headers: Record<string, string> = { ...(result.headers ?? {}) };
    let payload: Buffer;
    if (result.raw) payload = result.raw;
    else {
      payload = Buffer.from(JSON.stringify(result.json ?? {}));
      headers['content-type'] = 'application/json; charset=UTF-8';
    }
    headers['content-length'] = String(payload.length);
    res.writeHead(result.status ?? 200, headers);
    res.end(payload);
  }

  private internal(r: InternalRequest): Promise<InternalResponse> {
    const url = new URL(r.path, 'http://127.0.0.1');
    return this.handle({
      method: r.method.toUpperCase(),
      rawPath: url.pathname,
      query: url.searchParams,
      headers: r.headers,
      body: r.body,
      internal: true,
    }).then((res) => ({ status: res.status ?? 200, json: res.json }));
  }

  /** Routes one request through latency, faults and the handler, and logs it. */
  private async handle(base: Omit<HandlerContext, 'params'>): Promise<HandlerResult> {
    const at = Date.now();
    const m = this.router.match(base.method, base.rawPath);
    const api: Api | 'unknown' = m?.route.api ?? 'unknown';
    const rpc = m?.route.rpc ?? 'unknown';
    const log = (status: number, faulted: boolean, after = false): void => {
      const entry: FakeRequest = { at, method: base.method, path: base.rawPath, api, rpc, status, faulted };
      if (after) entry.faultedAfterEffect = true;
      if (base.internal) entry.internal = true;
      this.requests.push(entry);
    };
    if (!m) {
      const err = new ApiError('NOT_FOUND', `The fake has no route for ${base.method} ${base.rawPath}.`);
      log(404, false);
      return { status: 404, json: err.toBody('aiplatform') };
    }
    const routeApi = m.route.api;
    const signal = this.closing.signal;
    if (!base.internal && this.env.options.latencyMs > 0) await sleep(this.env.options.latencyMs, signal);
    const fault = base.internal ? undefined : this.env.faults.decide(routeApi, rpc);
    const answerFault = async (after: boolean): Promise<HandlerResult> => {
      if (!fault) throw new Error('unreachable');
      if (fault.kind === 'timeout') await sleep(fault.timeoutMs, signal);
      const err = faultError(fault.kind, routeApi, fault.permission);
      log(err.httpStatus, true, after);
      return { status: err.httpStatus, json: err.toBody(routeApi) };
    };
    if (fault && !fault.afterEffect) return answerFault(false);
    let result: HandlerResult;
    try {
      result = await m.route.handler({ ...base, params: m.params });
    } catch (e) {
      const err =
        e instanceof ApiError
          ? e
          : new ApiError(
              'INTERNAL',
              `fake internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
            );
      log(err.httpStatus, false);
      return { status: err.httpStatus, json: err.toBody(routeApi) };
    }
    if (fault) return answerFault(true);
    log(result.status ?? 200, false);
    return result;
  }
}
