/**
 * The predict proxy against a local node:http model server: the body is forwarded to the fixed
 * predict path of the endpoint (never a path or host from the request), non-loopback endpoints get
 * 409, bodies over 64 KiB 413, bodies that are not JSON 400; answers are capped at 64 KiB.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { endpoint, serveDashboard, snapshot, TOKEN, type Served } from './fixtures.js';

let served: Served | undefined;
let upstream: Server;
let upstreamUrl: string;
let received: { method?: string; url?: string; type?: string; body: string }[];
let answer: { status: number; body: string };

beforeEach(async () => {
  received = [];
  answer = { status: 200, body: '{"predictions":[[0.5]]}' };
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method,
        url: req.url,
        type: req.headers['content-type'],
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await served?.server.close();
  served = undefined;
  await new Promise((resolve) => upstream.close(resolve));
});

const predict = (name: string, body: string, suffix = '') =>
  fetch(`${served!.url}/api/v1/deployedendpoints/${name}/predict${suffix}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body,
  });

describe('predict proxy', () => {
  it("forwards the body to the endpoint's model path and answers status, body and duration", async () => {
    served = await serveDashboard({ token: TOKEN });
    served.source.push(
      snapshot({
        observed: { runs: [], models: [], schedules: [], endpoints: [endpoint('mpg-api', upstreamUrl)] },
      }),
    );
    const response = await predict('mpg-api', '{"instances":[[1,2,3]]}', '?path=/admin&host=evil.example');
    expect(response.status).toBe(200);
    const result = (await response.json()) as { status: number; body: string; durationMs: number };
    expect(result).toMatchObject({ status: 200, body: '{"predictions":[[0.5]]}' });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(received).toEqual([
      {
        method: 'POST',
        url: '/v1/models/mpg:predict',
        type: 'application/json',
        body: '{"instances":[[1,2,3]]}',
      },
    ]);
  });

  it("uses a serving container's predictPath, passes error statuses through, caps the answer", async () => {
    served = await serveDashboard();
    served.source.push(
      snapshot({
        observed: {
          runs: [],
          models: [],
          schedules: [],
          endpoints: [endpoint('own', upstreamUrl, '/custom/predict')],
        },
      }),
    );
    answer = { status: 422, body: 'x'.repeat(100 * 1024) };
    const response = await predict('own', '[1]');
    const result = (await response.json()) as { status: number; body: string };
    expect(received[0].url).toBe('/custom/predict');
    expect(result.status).toBe(422);
    expect(result.body).toHaveLength(64 * 1024);
  });

  it('refuses endpoints that are not loopback http, unknown ones, bad bodies and big ones', async () => {
    served = await serveDashboard();
    served.source.push(
      snapshot({
        provider: 'gcp',
        observed: {
          runs: [],
          models: [],
          schedules: [],
          endpoints: [
            endpoint('cloud', 'https://mlform-demo-cloud-abc-uc.a.run.app'),
            endpoint('lan', 'http://10.0.0.5:8080'),
            endpoint('creds', `http://user:pw@127.0.0.1:${new URL(upstreamUrl).port}`),
            endpoint('pending', undefined),
            endpoint('ok', upstreamUrl),
          ],
        },
      }),
    );
    for (const name of ['cloud', 'lan', 'creds', 'pending']) {
      const response = await predict(name, '{}');
      expect(response.status, name).toBe(409);
      expect(((await response.json()) as { error: string }).error).toContain('only to local endpoints');
    }
    const cloud = (await (await predict('cloud', '{}')).json()) as { hint: string };
    expect(cloud.hint).toContain('identity token');
    const unknown = await predict('okk', '{}');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ hint: 'did you mean "ok"?' });
    const notJson = await predict('ok', 'instances=1');
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ field: 'body' });
    const justRight = await predict('ok', JSON.stringify('y'.repeat(64 * 1024 - 2)));
    expect(justRight.status).toBe(200);
    const tooBig = await predict('ok', JSON.stringify('y'.repeat(64 * 1024)));
    expect(tooBig.status).toBe(413);
    const get = await fetch(`${served.url}/api/v1/deployedendpoints/ok/predict`);
    expect(get.status).toBe(405);
    expect(received).toHaveLength(1);
  });

  it('says when the endpoint does not answer', async () => {
    served = await serveDashboard();
    await new Promise((resolve) => upstream.close(resolve));
    upstream = createServer();
    served.source.push(
      snapshot({
        observed: { runs: [], models: [], schedules: [], endpoints: [endpoint('gone', upstreamUrl)] },
      }),
    );
    const response = await predict('gone', '{}');
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: expect.stringContaining('did not answer') });
  });
});
