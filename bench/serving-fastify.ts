/**
 * The same ServingApp behind fastify instead of node:http, for the benchmark's framework
 * comparison (the server ships on node:http; see serving/README.md). Per-request work
 * matches HttpFront: one metrics update and one log line.
 */
import Fastify from 'fastify';
import type { ModelServer } from '../serving/index.js';

export async function listenWithFastify(server: ModelServer): Promise<string> {
  const app = Fastify({ logger: false, bodyLimit: server.config.limits.maxBodyBytes });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.all('/*', async (req, reply) => {
    const started = performance.now();
    const path = req.url.split('?', 1)[0];
    const body = Buffer.isBuffer(req.body) ? req.body : undefined;
    const response = await server.app.handle({
      method: req.method,
      path,
      contentType: req.headers['content-type'],
      body,
    });
    const seconds = (performance.now() - started) / 1000;
    server.metrics.request(response.route, response.status, response.version ?? '', seconds);
    if (server.config.logging.requests) {
      server.log.info(
        {
          method: req.method,
          path,
          status: response.status,
          durationMs: Math.round(seconds * 1e6) / 1000,
          ...(response.version !== undefined && { version: response.version }),
          ...(response.instances !== undefined && { instances: response.instances }),
        },
        'request',
      );
    }
    void reply
      .code(response.status)
      .headers(response.headers ?? {})
      .type(response.contentType)
      .send(response.body);
    return reply;
  });
  return app.listen({ port: 0, host: '127.0.0.1' });
}
