/** `mlform get --server URL`: the same table as `get`, from a controller's /api/status. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../controller/cli/main.js';
import { createContext } from '../../controller/cli/context.js';
import { SAMPLE_STATUS } from './sample-status.js';

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/api/status') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(SAMPLE_STATUS));
    } else if (req.url === '/html/api/status') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>hello</html>');
    } else if (req.url === '/other/api/status') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"hello":"world"}');
    } else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const ctx = createContext({
    stdout: { write: (t: string) => (out += t), isTTY: false },
    stderr: { write: (t: string) => (err += t), isTTY: false },
    env: { NO_COLOR: '1' },
  });
  const code = await main(['node', 'mlform', ...args], ctx);
  return { code, out, err };
}

describe('mlform get --server', () => {
  it('renders the same table as get', async () => {
    const { code, out, err } = await cli('get', '--server', base);
    expect(code).toBe(0);
    expect(out).toMatchInlineSnapshot(`
      "KIND               NAME      SYNC        HEALTH     DETAILS
      DeployedEndpoint   mpg-api   OutOfSync   Degraded   http://127.0.0.1:8501 v1 100%; not answering
      "
    `);
    expect(err).toContain('commit bbb does not load');
  });

  it('filters by kind and name, and names an unknown resource', async () => {
    expect((await cli('get', '--server', base, 'trainingruns')).out).toContain('No TrainingRun resources');
    const missing = await cli('get', '--server', base, 'deployedendpoint/nope');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('known: deployedendpoint/mpg-api');
  });

  it('-o json passes the controller status through', async () => {
    const { out } = await cli('get', '--server', base, '-o', 'json');
    expect(JSON.parse(out)).toMatchObject({
      controller: { appliedCommit: 'aaa' },
      resources: [{ name: 'mpg-api' }],
    });
  });

  it('a bad URL, an unreachable server, non-JSON or a foreign JSON answer are clear errors', async () => {
    const bad = await cli('get', '--server', 'ftp://x');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('is not an http(s) URL');
    const html = await cli('get', '--server', `${base}/html`);
    expect(html.code).toBe(1);
    expect(html.err).toContain('did not answer JSON');
    const foreign = await cli('get', '--server', `${base}/other`);
    expect(foreign.err).toContain('not an mlform controller status');
    const notFound = await cli('get', '--server', `${base}/missing`);
    expect(notFound.err).toContain('answered HTTP 404');
    const down = await cli('get', '--server', 'http://127.0.0.1:9');
    expect(down.err).toContain('cannot reach');
  });
});
