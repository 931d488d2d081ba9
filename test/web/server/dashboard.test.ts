/**
 * The dashboard mounted in the status server, with a hand-built source and a stub BuildView: who
 * may call what, answers before the first snapshot, gzip, the app's files and pages, and traversal
 * attempts on /assets.
 */
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeCursor } from '../../../controller/web/cursor.js';
import { CONTENT_SECURITY_POLICY } from '../../../controller/web/static-assets.js';
import { SAMPLE_STATUS } from '../../controller/sample-status.js';
import { rawGet, serveDashboard, snapshot, TOKEN, type Served } from './fixtures.js';

let served: Served | undefined;
afterEach(async () => {
  await served?.server.close();
  served = undefined;
});

const auth = { authorization: `Bearer ${TOKEN}` };

const API_ROUTES: [string, string][] = [
  ['GET', '/api/v1/overview'],
  ['GET', '/api/v1/plan'],
  ['GET', '/api/v1/trainingruns/mpg'],
  ['GET', '/api/v1/registeredmodels/mpg'],
  ['GET', '/api/v1/deployedendpoints/mpg-api'],
  ['GET', '/api/v1/schedules'],
  ['GET', '/api/v1/controller'],
  ['GET', `/api/v1/stream?path=${encodeURIComponent('/api/v1/overview')}`],
  ['POST', '/api/v1/deployedendpoints/mpg-api/predict'],
  ['GET', '/api/v1/nope'],
  ['GET', '/api/status'],
];

describe('dashboard server', () => {
  it('requires the token on every /api/ route (loopback too), and leaves the app open', async () => {
    served = await serveDashboard({ token: TOKEN });
    served.source.push(snapshot());
    for (const [method, path] of API_ROUTES) {
      const response = await fetch(`${served.url}${path}`, {
        method,
        ...(method === 'POST' && { body: '{}' }),
      });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const wrong = await fetch(`${served.url}${path}`, {
        method,
        headers: { authorization: 'Bearer not-the-token-at-all' },
        ...(method === 'POST' && { body: '{}' }),
      });
      expect(wrong.status, `${method} ${path} with a wrong token`).toBe(401);
    }
    expect(served.builds).toEqual([]);
    for (const path of [
      '/',
      '/plan',
      '/trainingruns/mpg?run=2',
      '/registeredmodels/mpg',
      '/deployedendpoints/mpg-api',
      '/schedules?name=nightly',
      '/controller',
      '/assets/app-1a2b.js',
    ]) {
      expect((await fetch(`${served.url}${path}`)).status, path).toBe(200);
    }
    // Other paths stay closed to anyone without the token (nothing can be probed); with it, the app.
    for (const path of ['/some/future/ui', '/trainingruns/a/b', '/package.json', '/assets/../package.json']) {
      expect((await rawGet(served.url, path)).status, path).toBe(401);
    }
    const unknownPage = await rawGet(served.url, '/some/future/ui', auth);
    expect(unknownPage.status).toBe(200);
    expect(unknownPage.body.toString()).toContain('<div id="app">');
    const withToken = await fetch(`${served.url}/api/v1/controller`, { headers: auth });
    expect(withToken.status).toBe(200);
    expect(await withToken.json()).toMatchObject({ stack: 'demo', mode: 'controller' });
    expect(withToken.headers.get('cache-control')).toBe('no-store');
    expect(served.source.touches).toBeGreaterThan(0);
  });

  it('answers 503 before the first snapshot, then the document; 404 and 400 as the route says', async () => {
    served = await serveDashboard();
    const before = await fetch(`${served.url}/api/v1/overview`);
    expect(before.status).toBe(503);
    expect(await before.json()).toEqual({ error: 'no snapshot yet: the first observation is running' });
    served.source.push(snapshot());
    expect((await fetch(`${served.url}/api/v1/overview`)).status).toBe(200);
    const missing = await fetch(`${served.url}/api/v1/trainingruns/missing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({
      error: expect.stringContaining('missing'),
      hint: expect.any(String),
    });
    const bad = await fetch(`${served.url}/api/v1/overview?kind=Pod`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ field: 'kind' });
    const unknown = await fetch(`${served.url}/api/v1/pods`);
    expect(unknown.status).toBe(404);
    const post = await fetch(`${served.url}/api/v1/plan`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
  });

  it('gzips documents for clients that accept it', async () => {
    served = await serveDashboard();
    const diagnostics = Array.from({ length: 60 }, (_, i) => ({
      severity: 'error' as const,
      code: 'x',
      message: `manifest problem number ${i} in some file`,
    }));
    served.source.push(snapshot({ diagnostics }));
    const zipped = await rawGet(served.url, '/api/v1/controller', { 'accept-encoding': 'gzip, br' });
    expect(zipped.status).toBe(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    const doc = JSON.parse(gunzipSync(zipped.body).toString('utf8')) as { errors: unknown[] };
    expect(doc.errors).toHaveLength(60);
    const plain = await rawGet(served.url, '/api/v1/controller');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(plain.body.toString('utf8'))).toEqual(doc);
  });

  it('serves index.html for the app URLs with security headers, assets immutable and gzipped', async () => {
    served = await serveDashboard({ token: TOKEN });
    for (const path of [
      '/',
      '/plan',
      '/schedules?name=nightly',
      '/deployedendpoints/mpg-api',
      '/anything/else',
    ]) {
      const page = await rawGet(served.url, path, auth);
      expect(page.status, path).toBe(200);
      expect(page.body.toString()).toContain('<div id="app">');
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.headers['cache-control']).toBe('no-cache');
      expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(page.headers['x-content-type-options']).toBe('nosniff');
      expect(page.headers['referrer-policy']).toBe('no-referrer');
    }
    const asset = await rawGet(served.url, '/assets/app-1a2b.js', { 'accept-encoding': 'gzip' });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toMatch(/^text\/javascript/);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(asset.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(asset.body).toString()).toContain('console.log');
    // Server routes stay theirs.
    expect((await rawGet(served.url, '/healthz')).body.toString()).toBe('ok\n');
    const hook = await rawGet(served.url, '/hooks/git');
    expect(hook.status).toBe(404);
    expect(hook.body.toString()).not.toContain('<div id="app">');
    expect((await rawGet(served.url, '/api')).status).toBe(401);
  });

  it('answers asset traversal attempts with 404, never a file outside the listing', async () => {
    served = await serveDashboard();
    const attempts = [
      '/assets/../package.json',
      '/assets/../secret.txt',
      '/assets/%2e%2e/secret.txt',
      '/assets/%2E%2E%2Fsecret.txt',
      '/assets/..%2fsecret.txt',
      '/assets/..%5csecret.txt',
      '/assets/.%2e/.%2e/package.json',
      '/assets/',
      '/assets/app-1a2b.js%00.png',
      '/assets//etc/passwd',
    ];
    const answers = await Promise.all(attempts.map((path) => rawGet(served!.url, path)));
    expect(answers.map((a) => a.status)).toEqual(attempts.map(() => 404));
    const bodies = answers.map((a) => a.body.toString()).join('\n');
    expect(bodies).not.toContain('outside the assets folder');
    expect(bodies).not.toContain('"name"');
  });

  it('says to build when dist/web is missing', async () => {
    served = await serveDashboard({ built: false });
    const page = await fetch(`${served.url}/`);
    expect(page.status).toBe(503);
    expect(await page.text()).toContain('npm run build');
  });

  it('pages /api/status with ?limit=&cursor=, and answers it whole without them', async () => {
    served = await serveDashboard();
    const whole = (await (await fetch(`${served.url}/api/status`)).json()) as typeof SAMPLE_STATUS;
    expect(whole).toEqual(SAMPLE_STATUS);
    expect('nextCursor' in whole).toBe(false);
    const first = (await (await fetch(`${served.url}/api/status?limit=1`)).json()) as typeof SAMPLE_STATUS;
    expect(first.resources).toEqual(SAMPLE_STATUS.resources.slice(0, 1));
    const last = await (
      await fetch(`${served.url}/api/status?limit=1&cursor=${encodeCursor(SAMPLE_STATUS.resources.length)}`)
    ).json();
    expect(last).toMatchObject({ resources: [], nextCursor: null });
    const bad = await fetch(`${served.url}/api/status?limit=0`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ field: 'limit' });
  });
});
