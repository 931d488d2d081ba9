/**
 * The HTTP side of the model server on plain `node:http` (chosen over fastify by measurement, see
 * README.md): body limits, request logs and metrics, and the graceful drain on shutdown. Request
 * semantics live in ServingApp; this file only moves bytes.
 */
import { errorMessage } from '../resources/error-message.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { AppResponse, ServingApp } from './serving-app.js';
import type { ServingMetrics } from './serving-metrics.js';
import { applyBounds, serverOptions, type ConnectionBounds } from './connection-bounds.js';
import { REQUEST_ID_HEADER } from '../monitoring/prediction-log.js';
import { CHALLENGE_HEADER, isProofToken, PROOF_HEADER, proofFor } from './launch-proof.js';

export interface HttpFrontOptions {
  app: ServingApp;
  metrics: ServingMetrics;
  log: Logger;
  logRequests: boolean;
  maxBodyBytes: number;
  /** Header, request and keep-alive timeouts and the connection cap (config.ts connectionBounds). */
  bounds: ConnectionBounds;
  /**
   * The launch key (launch-proof.ts): health answers carry the proof of a request's challenge, so
   * the launcher can tell this process from another that took its port. Unset: no proof header.
   */
  proofKey?: string;
}

const PAYLOAD_TOO_LARGE = (limit: number, size: string): string =>
  JSON.stringify({
    error: `the request body is ${size}; this server accepts at most ${limit} bytes (limits.maxBodyBytes): split the request`,
  });

/**
 * After a 413 the rest of an oversized body is read and thrown away up to this many bytes, so a
 * client still sending gets to read the answer instead of a connection reset; beyond it the
 * connection is cut.
 */
const DISCARD_LIMIT = 64 * 1024 * 1024;

export class HttpFront {
  readonly server: Server;
  private inflight = 0;
  private closing = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: HttpFrontOptions) {
    options.metrics.countInflight(() => this.inflight);
    this.server = createServer(serverOptions(options.bounds), (req, res) => this.onRequest(req, res));
    applyBounds(this.server, options.bounds);
    // Without this listener Node answers `Expect: 100-continue` itself; with it, an oversized
    // upload is refused before the client sends a byte of it.
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      if (this.tooLarge(req)) this.onRequest(req, res);
      else {
        res.writeContinue();
        this.onRequest(req, res);
      }
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      // Malformed HTTP, or a request that did not arrive within the bounds (slowloris): answer 400
      // or 408 if the socket can still take it, never throw.
      if (socket.writable && err.code !== 'ECONNRESET') {
        const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
        const body = JSON.stringify({
          error: timeout
            ? 'the request did not arrive in time (limits.headersTimeoutSeconds, limits.receiveTimeoutSeconds)'
            : `bad HTTP request: ${err.message}`,
        });
        socket.end(
          `HTTP/1.1 ${timeout ? '408 Request Timeout' : '400 Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
      } else socket.destroy();
    });
  }

  /**
   * On a port, or on a listening socket inherited as file descriptor `fd` (the local provider
   * binds the port itself and hands the socket over, so no other process can take it in between).
   */
  listen(port: number, host: string, fd?: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.server.once('error', onError);
      const target = fd === undefined ? { port, host } : { fd };
      this.server.listen(target, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Requests being answered right now. */
  get active(): number {
    return this.inflight;
  }

  /**
   * Stops accepting connections and closes idle keep-alive ones; requests in flight finish (their
   * responses say `connection: close`). Resolves when none is left or after `deadlineMs`, when
   * the remaining connections are cut.
   */
  async close(deadlineMs: number, beforeWait?: () => void): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    beforeWait?.();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), deadlineMs);
    });
    const idle =
      this.inflight === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    const outcome = await Promise.race([idle.then(() => 'idle' as const), deadline]);
    if (outcome === 'timeout') {
      this.options.log.warn(
        { inflight: this.inflight },
        'drain deadline passed; closing the remaining connections',
      );
    }
    this.server.closeAllConnections();
    clearTimeout(timer);
    await closed;
  }

  private tooLarge(req: IncomingMessage): boolean {
    const length = req.headers['content-length'];
    return length !== undefined && Number(length) > this.options.maxBodyBytes;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    this.inflight++;
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const method = req.method ?? 'GET';

    // Each request leaves `inflight` exactly once: answered, or its client gone before the body
    // was complete.
    let finished = false;
    const finish = (response: AppResponse): void => {
      if (finished) return;
      finished = true;
      this.send(req, res, method, path, response, started);
      this.done();
    };

    if (method === 'GET' || method === 'HEAD') {
      req.resume();
      this.dispatch(method, path, req, undefined, finish);
      return;
    }
    if (this.tooLarge(req)) {
      this.refuseLarge(req, res, finish, `${req.headers['content-length']} bytes`);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > this.options.maxBodyBytes) {
        req.off('data', onData);
        req.off('end', onEnd);
        this.refuseLarge(req, res, finish, `over ${this.options.maxBodyBytes} bytes`);
        return;
      }
      chunks.push(chunk);
    };
    let dispatched = false;
    const onEnd = (): void => {
      dispatched = true;
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      this.dispatch(method, path, req, body, finish);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    // The client went away mid-body: nothing to answer. (After dispatch the answer still comes
    // and `finish` accounts for it.)
    const abandon = (): void => {
      if (!finished && !dispatched) {
        finished = true;
        this.done();
      }
    };
    req.on('error', abandon);
    req.on('close', () => {
      if (!req.complete) abandon();
    });
  }

  private dispatch(
    method: string,
    path: string,
    req: IncomingMessage,
    body: Buffer | undefined,
    finish: (response: AppResponse) => void,
  ): void {
    this.options.app
      .handle({
        method,
        path,
        contentType: req.headers['content-type'],
        body,
        requestId: req.headers[REQUEST_ID_HEADER],
      })
      .then(finish, (e: unknown) =>
        // ServingApp.handle does not reject; this is the last line of defence.
        finish({
          status: 500,
          contentType: 'application/json',
          body: JSON.stringify({ error: `internal error: ${errorMessage(e)}` }),
          route: 'other',
        }),
      );
  }

  private refuseLarge(
    req: IncomingMessage,
    res: ServerResponse,
    finish: (response: AppResponse) => void,
    size: string,
  ): void {
    let discarded = 0;
    req.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > DISCARD_LIMIT) req.socket.destroy();
    });
    req.resume();
    res.shouldKeepAlive = false;
    finish({
      status: 413,
      contentType: 'application/json',
      body: PAYLOAD_TOO_LARGE(this.options.maxBodyBytes, size),
      route: (req.url ?? '').split('?', 1)[0].endsWith(':predict') ? 'predict' : 'other',
    });
  }

  private send(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    path: string,
    response: AppResponse,
    started: number,
  ): void {
    if (!res.destroyed) {
      const headers: Record<string, string | number> = {
        'content-type': response.contentType,
        'content-length': Buffer.byteLength(response.body),
        ...response.headers,
      };
      if (this.closing) headers.connection = 'close';
      const challenge = req.headers[CHALLENGE_HEADER];
      if (
        this.options.proofKey !== undefined &&
        response.route === 'health' &&
        typeof challenge === 'string' &&
        isProofToken(challenge)
      ) {
        headers[PROOF_HEADER] = proofFor(this.options.proofKey, challenge);
      }
      try {
        res.writeHead(response.status, headers);
        res.end(response.body);
      } catch (e) {
        // Never let one response take the process down (an unhandled error here would).
        this.options.log.error({ err: errorMessage(e), path }, 'cannot write a response');
        res.destroy();
      }
    }
    const seconds = (performance.now() - started) / 1000;
    this.options.metrics.request(response.route, response.status, response.version ?? '', seconds);
    if (this.options.logRequests) {
      const fields = {
        method,
        path,
        status: response.status,
        durationMs: Math.round(seconds * 1e6) / 1000,
        ...(response.version !== undefined && { version: response.version }),
        ...(response.instances !== undefined && { instances: response.instances }),
        ...(response.status >= 400 && { error: errorText(response) }),
        ...(req.headers['x-request-id'] !== undefined && { requestId: req.headers['x-request-id'] }),
      };
      if (response.status >= 500) this.options.log.error(fields, 'request');
      else this.options.log.info(fields, 'request');
    }
  }

  private done(): void {
    this.inflight--;
    if (this.inflight === 0 && this.idleWaiters.length > 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }
}

/** The `error` of a JSON error body, for the log line (bodies are small; parse only on errors). */
function errorText(response: AppResponse): string | undefined {
  try {
    const parsed = JSON.parse(response.body) as unknown;
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'error' in parsed &&
      typeof parsed.error === 'string'
    ) {
      return parsed.error.length > 300 ? `${parsed.error.slice(0, 297)}...` : parsed.error;
    }
  } catch {
    // not JSON: nothing to add
  }
  return undefined;
}
