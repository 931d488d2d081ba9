/**
 * A version served by a server of its own (config `upstream`): mlform's server stays in front of
 * it, so the traffic split, pinned versions, request limits, metrics and logs are the same as for
 * models it loads itself. Predictions are forwarded (body and status passed through, the answer
 * bounded in size and time); readiness is the upstream's health path answering 200.
 */
import { Agent, request } from 'node:http';
import { errorMessage } from '../resources/error-message.js';
import type { UpstreamConfig } from './config.js';
import { HttpError } from './http-error.js';

export interface UpstreamAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** Health checks need no reuse; forwards do (one connection per request would cost a handshake each). */
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export class Upstream {
  constructor(
    readonly config: UpstreamConfig,
    /** For messages: `version 3`. */
    private readonly label: string,
  ) {}

  /** The health path's status, or undefined when nothing answered within `timeoutMs`. */
  health(timeoutMs: number): Promise<number | undefined> {
    return new Promise((resolve) => {
      const req = request(
        `${this.config.url}${this.config.healthPath}`,
        { method: 'GET', agent: false, timeout: timeoutMs },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(undefined));
      req.end();
    });
  }

  /**
   * POSTs the client's body to the predict path. 502 when the upstream cannot be reached or its
   * answer is over `maxBytes`, 504 after `timeoutMs`; the upstream's own status otherwise.
   */
  forward(
    body: Buffer | undefined,
    contentType: string | undefined,
    limits: { maxBytes: number; timeoutMs: number },
  ): Promise<UpstreamAnswer> {
    const where = `${this.label}'s server (${this.config.url}${this.config.predictPath})`;
    return new Promise((resolve, reject) => {
      const payload = body ?? Buffer.alloc(0);
      const req = request(
        `${this.config.url}${this.config.predictPath}`,
        {
          method: 'POST',
          agent,
          timeout: limits.timeoutMs,
          headers: { 'content-type': contentType ?? 'application/json', 'content-length': payload.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > limits.maxBytes) {
              req.destroy();
              reject(
                new HttpError(
                  502,
                  `${where} answered more than ${limits.maxBytes} bytes (limits.maxBodyBytes)`,
                ),
              );
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 502,
              contentType: res.headers['content-type'] ?? 'application/octet-stream',
              body: Buffer.concat(chunks, size).toString('utf8'),
            }),
          );
          res.on('error', (e) =>
            reject(new HttpError(502, `${where} broke off its answer: ${errorMessage(e)}`)),
          );
        },
      );
      req.on('timeout', () => {
        req.destroy();
        reject(new HttpError(504, `${where} did not answer within ${limits.timeoutMs / 1000} s`));
      });
      req.on('error', (e) => reject(new HttpError(502, `${where} cannot be reached: ${errorMessage(e)}`)));
      req.end(payload);
    });
  }
}

/** Polls the health path every 100 ms until it answers 200; false when `stop()` says to give up. */
export async function waitHealthy(upstream: Upstream, stop: () => string | undefined): Promise<void> {
  for (;;) {
    if ((await upstream.health(1_000)) === 200) return;
    const reason = stop();
    if (reason !== undefined) throw new Error(reason);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
