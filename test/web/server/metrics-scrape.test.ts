/** ViewIO.scrapeMetrics: loopback plain-http URLs only, 1 MiB at most, undefined on any failure. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loopbackHttpUrl, scrapeMetrics } from '../../../controller/web/metrics-scrape.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

async function serveMetrics(body: string, status = 200): Promise<string> {
  server = createServer((req, res) => {
    res.writeHead(req.url === '/metrics' ? status : 404);
    res.end(req.url === '/metrics' ? body : '');
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('scrapeMetrics', () => {
  it('reads /metrics of a loopback server', async () => {
    const url = await serveMetrics('mlform_requests_total 3\n');
    expect(await scrapeMetrics(url)).toBe('mlform_requests_total 3\n');
    expect(await scrapeMetrics(`${url}/some/path`)).toBe('mlform_requests_total 3\n');
  });

  it('gives undefined beyond 1 MiB, on errors and for URLs that are not loopback http', async () => {
    const big = await serveMetrics('x'.repeat(1024 * 1024 + 1));
    expect(await scrapeMetrics(big)).toBeUndefined();
    await new Promise((resolve) => server!.close(resolve));
    const failing = await serveMetrics('boom', 500);
    expect(await scrapeMetrics(failing)).toBeUndefined();
    expect(await scrapeMetrics('http://127.0.0.1:1')).toBeUndefined();
    for (const url of [
      'https://127.0.0.1:8080',
      'http://10.0.0.1:8080',
      'http://example.com',
      'http://127.0.0.1.nip.io:8080',
      'http://u:p@127.0.0.1:8080',
      'file:///etc/passwd',
      'not a url',
    ]) {
      expect(loopbackHttpUrl(url), url).toBeUndefined();
    }
    for (const url of [
      'http://127.0.0.1:8080',
      'http://127.5.0.1',
      'http://[::1]:9000',
      'http://localhost:1',
    ]) {
      expect(loopbackHttpUrl(url), url).toBeDefined();
    }
  });
});
