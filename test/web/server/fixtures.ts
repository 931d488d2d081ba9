/**
 * A dashboard served on a free loopback port from a hand-built source: snapshots pushed by the
 * test, a stub BuildView counting its builds, and a small built app in a temporary folder.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { createControllerMetrics } from '../../../controller/loop/metrics.js';
import { startStatusServer, type RunningServer } from '../../../controller/loop/status-server.js';
import type { ApiRoute, ControllerDoc } from '../../../controller/web/api.js';
import type { DashboardSource, StackSnapshot, ViewResult } from '../../../controller/web/snapshot.js';
import { loadStaticAssets } from '../../../controller/web/static-assets.js';
import type { ObservedEndpoint, Provider } from '../../../providers/provider.js';
import type { ConnectionBounds } from '../../../serving/connection-bounds.js';
import { SAMPLE_STATUS } from '../../controller/sample-status.js';

export const TOKEN = 'dashboard-test-token-0123456789';

export function snapshot(overrides: Partial<StackSnapshot> = {}): StackSnapshot {
  return {
    seq: 1,
    observedAt: '2026-01-05T10:00:00.000Z',
    mode: 'controller',
    stack: 'demo',
    provider: 'local',
    projectDir: '/tmp/demo',
    desired: undefined,
    observed: { runs: [], models: [], endpoints: [], schedules: [] },
    plan: undefined,
    statuses: [],
    diagnostics: [],
    ...overrides,
  };
}

export function endpoint(name: string, url: string | undefined, predictPath?: string): ObservedEndpoint {
  return {
    name,
    specHash: 'h',
    spec: {
      model: 'mpg',
      ...(predictPath !== undefined && {
        container: { command: ['srv'], port: 8080, healthPath: '/', predictPath },
      }),
    } as ObservedEndpoint['spec'],
    annotations: {},
    model: 'mpg',
    traffic: [],
    ...(url !== undefined && { url }),
    healthy: true,
  };
}

/** A source whose snapshots the test pushes. */
export class FakeSource implements DashboardSource {
  snapshot: StackSnapshot | undefined;
  touches = 0;
  private readonly listeners = new Set<(s: StackSnapshot) => void>();
  provider = {} as Provider;
  ctx = { stack: 'demo', projectDir: '/tmp/demo' };
  current() {
    return this.snapshot;
  }
  subscribe(listener: (s: StackSnapshot) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  touch() {
    this.touches++;
  }
  push(next: StackSnapshot) {
    this.snapshot = next;
    for (const l of this.listeners) l(next);
  }
}

/** A controller document whose content is the snapshot's observedAt and diagnostics. */
export function stubBuild(builds: ApiRoute[]) {
  return async (route: ApiRoute, s: StackSnapshot): Promise<ViewResult> => {
    builds.push(route);
    if (route.view === 'trainingrun' && route.name === 'missing') {
      return {
        status: 404,
        error: { error: 'TrainingRun "missing" does not exist', hint: 'did you mean "mpg"?' },
      };
    }
    const doc: ControllerDoc = {
      formatVersion: 1,
      observedAt: s.observedAt,
      stack: s.stack,
      provider: s.provider,
      mode: s.mode,
      controller: null,
      refresh: null,
      errors: s.diagnostics.map((d) => ({ address: null, message: d.message, hint: null, source: null })),
      backoff: [],
    };
    return { status: 200, doc };
  };
}

export async function webDir(built = true): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mlform-web-'));
  await writeFile(join(dir, 'secret.txt'), 'outside the assets folder');
  if (!built) return dir;
  await mkdir(join(dir, 'assets'));
  await writeFile(
    join(dir, 'index.html'),
    '<!doctype html><div id="app"></div><script src="/assets/app-1a2b.js"></script>',
  );
  await writeFile(join(dir, 'assets', 'app-1a2b.js'), `console.log(${JSON.stringify('x'.repeat(4000))});\n`);
  return dir;
}

export interface Served {
  url: string;
  server: RunningServer;
  source: FakeSource;
  builds: ApiRoute[];
}

export async function serveDashboard(
  options: {
    token?: string;
    listen?: string;
    built?: boolean;
    pingMs?: number;
    bounds?: ConnectionBounds;
  } = {},
): Promise<Served> {
  const source = new FakeSource();
  const builds: ApiRoute[] = [];
  const started = await startStatusServer({
    listen: options.listen ?? '127.0.0.1:0',
    registry: createControllerMetrics({ defaultMetrics: false }).registry,
    authToken: options.token,
    ...(options.bounds && { bounds: options.bounds }),
    status: () => SAMPLE_STATUS,
    isReady: () => true,
    isLeader: () => true,
    onWebhook: () => 'accepted',
    dashboard: {
      source,
      build: stubBuild(builds),
      assets: await loadStaticAssets(await webDir(options.built ?? true)),
      ...(options.pingMs !== undefined && { pingMs: options.pingMs }),
    },
  });
  expect(started.diagnostics).toEqual([]);
  if (!started.server) throw new Error('no server');
  return { url: started.server.url, server: started.server, source, builds };
}

/** A GET with the path sent exactly as written (fetch would normalise `..`). */
export function rawGet(
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

export interface OpenStream {
  status: number;
  headers: Headers;
  /** The next event (`event` name and parsed data, or `ping`). */
  next(timeoutMs?: number): Promise<{ event: string; data?: unknown }>;
  close(): void;
}

/** Opens `/api/v1/stream?path=...` with fetch, as the browser does. */
export async function openStream(url: string, path: string, token?: string): Promise<OpenStream> {
  const abort = new AbortController();
  const response = await fetch(`${url}/api/v1/stream?path=${encodeURIComponent(path)}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: abort.signal,
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  // A read that lost a race to the timeout is kept for the next call, so no chunk is dropped.
  let pending: ReturnType<typeof reader.read> | undefined;
  return {
    status: response.status,
    headers: response.headers,
    close: () => abort.abort(),
    async next(timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith(':')) return { event: 'ping' };
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
          const data = /^data: (.*)$/m.exec(block)?.[1];
          return { event, data: data === undefined ? undefined : JSON.parse(data) };
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('no event in time');
        pending ??= reader.read();
        const chunk = await Promise.race([
          pending,
          new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), left)),
        ]);
        if (chunk === 'timeout') throw new Error('no event in time');
        pending = undefined;
        if (chunk.done) throw new Error('stream ended');
        buffer += decoder.decode(chunk.value, { stream: true });
      }
    },
  };
}
