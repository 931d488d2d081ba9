/**
 * Live documents over Server-Sent Events: the first document at once, a changed snapshot sent, an
 * unchanged one not, one build per route per snapshot, pings, and the 64-stream bound (a closed
 * stream frees its place).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_STREAMS } from '../../../controller/web/stream-hub.js';
import { openStream, serveDashboard, snapshot, TOKEN, type OpenStream, type Served } from './fixtures.js';

let served: Served | undefined;
const streams: OpenStream[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  await served?.server.close();
  served = undefined;
});

async function open(path: string, token?: string): Promise<OpenStream> {
  const stream = await openStream(served!.url, path, token);
  streams.push(stream);
  return stream;
}

describe('dashboard streams', () => {
  it('sends the document at once, then only when it changes; one build per route and snapshot', async () => {
    served = await serveDashboard({ token: TOKEN });
    served.source.push(snapshot());
    const a = await open('/api/v1/controller', TOKEN);
    const b = await open('/api/v1/controller', TOKEN);
    expect(a.status).toBe(200);
    expect(a.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(a.headers.get('cache-control')).toBe('no-store');
    expect(a.headers.get('x-accel-buffering')).toBe('no');
    expect(await a.next()).toMatchObject({ event: 'doc', data: { observedAt: '2026-01-05T10:00:00.000Z' } });
    expect(await b.next()).toMatchObject({ event: 'doc' });

    // Same content, new snapshot: nothing is sent.
    served.builds.length = 0;
    served.source.push(snapshot({ seq: 2 }));
    await expect(a.next(300)).rejects.toThrow('no event in time');
    expect(served.builds).toHaveLength(1);

    served.builds.length = 0;
    served.source.push(snapshot({ seq: 3, observedAt: '2026-01-05T10:00:05.000Z' }));
    expect(await a.next()).toMatchObject({ event: 'doc', data: { observedAt: '2026-01-05T10:00:05.000Z' } });
    expect(await b.next()).toMatchObject({ event: 'doc', data: { observedAt: '2026-01-05T10:00:05.000Z' } });
    expect(served.builds).toHaveLength(1);
  });

  it('reports problems as events and waits for the first snapshot', async () => {
    served = await serveDashboard();
    const early = await open('/api/v1/overview');
    expect(await early.next()).toEqual({
      event: 'problem',
      data: { error: 'no snapshot yet: the first observation is running' },
    });
    served.source.push(snapshot());
    expect(await early.next()).toMatchObject({ event: 'doc' });
    const missing = await open('/api/v1/trainingruns/missing');
    expect(await missing.next()).toMatchObject({
      event: 'problem',
      data: { error: expect.stringContaining('missing') },
    });
  });

  it('refuses a path that is not an API document route, naming the field', async () => {
    served = await serveDashboard();
    for (const path of ['/api/v1/stream', '/etc/passwd', '/api/v1/overview?limit=0']) {
      const response = await fetch(`${served.url}/api/v1/stream?path=${encodeURIComponent(path)}`);
      expect(response.status, path).toBe(400);
      expect(await response.json()).toMatchObject({ field: path.includes('limit') ? 'limit' : 'path' });
    }
  });

  it('pings idle streams', async () => {
    served = await serveDashboard({ pingMs: 50 });
    served.source.push(snapshot());
    const s = await open('/api/v1/plan');
    expect(await s.next()).toMatchObject({ event: 'doc' });
    expect(await s.next()).toEqual({ event: 'ping' });
  });

  it(`keeps at most ${MAX_STREAMS} streams open; a closed one frees its place`, async () => {
    served = await serveDashboard();
    served.source.push(snapshot());
    const opened = await Promise.all(Array.from({ length: MAX_STREAMS }, () => open('/api/v1/overview')));
    expect(opened.every((s) => s.status === 200)).toBe(true);
    const refused = await fetch(`${served.url}/api/v1/stream?path=${encodeURIComponent('/api/v1/overview')}`);
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: 'too many open streams' });
    opened[0].close();
    let again: OpenStream | undefined;
    for (let i = 0; i < 100 && again?.status !== 200; i++) {
      again = await open('/api/v1/overview');
      if (again.status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(again?.status).toBe(200);
    expect(await again!.next()).toMatchObject({ event: 'doc' });
  });

  it('outlives the request and keep-alive timeouts (they bound requests, not answers)', async () => {
    const bounds = {
      headersTimeoutMs: 300,
      requestTimeoutMs: 300,
      keepAliveTimeoutMs: 200,
      maxConnections: 16,
    };
    served = await serveDashboard({ bounds });
    served.source.push(snapshot());
    const s = await open('/api/v1/overview');
    expect(await s.next()).toMatchObject({ event: 'doc' });
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    served.source.push(snapshot({ seq: 2, observedAt: '2026-01-05T11:00:00.000Z' }));
    expect(await s.next()).toMatchObject({ event: 'doc', data: { observedAt: '2026-01-05T11:00:00.000Z' } });
  });

  it('ends open streams when the server closes', async () => {
    served = await serveDashboard();
    served.source.push(snapshot());
    const s = await open('/api/v1/overview');
    await s.next();
    await served.server.close();
    served = undefined;
    await expect(s.next()).rejects.toThrow(/stream ended|terminated|aborted/);
  });
});
