import { TypeCompiler } from '@sinclair/typebox/compiler';
import { afterEach, describe, expect, it } from 'vitest';
import { createControllerMetrics } from '../../controller/loop/metrics.js';
import { ControllerStatusSchema, type ControllerStatus } from '../../controller/loop/status-schema.js';
import { SAMPLE_STATUS } from './sample-status.js';
import {
  isLoopbackAddress,
  parseListen,
  startStatusServer,
  withoutStackFrames,
  type RunningServer,
} from '../../controller/loop/status-server.js';
import { signBody } from '../../controller/loop/webhook.js';
import type { WebhookOutcome } from '../../controller/loop/sync-loop.js';

const checkStatus = TypeCompiler.Compile(ControllerStatusSchema);

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(
  options: {
    secret?: string;
    ready?: boolean;
    leader?: boolean;
    outcome?: WebhookOutcome;
    token?: string;
    status?: () => ControllerStatus;
    maxBodyBytes?: number;
  } = {},
) {
  const metrics = createControllerMetrics();
  const hooks: string[] = [];
  const started = await startStatusServer({
    listen: '127.0.0.1:0',
    registry: metrics.registry,
    authToken: options.token,
    maxBodyBytes: options.maxBodyBytes,
    status: options.status ?? (() => SAMPLE_STATUS),
    isReady: () => options.ready ?? true,
    isLeader: () => options.leader ?? true,
    webhookSecret: options.secret,
    onWebhook: () => {
      hooks.push('hook');
      return options.outcome ?? 'accepted';
    },
  });
  expect(started.diagnostics).toEqual([]);
  server = started.server;
  if (!server) throw new Error('no server');
  return { url: server.url, metrics, hooks };
}

describe('status server', () => {
  it('answers /healthz always and /readyz by readiness (standby: 503)', async () => {
    const { url } = await serve({ ready: false, leader: false });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const readyz = await fetch(`${url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.text()).toContain('standby');
    await server?.close();
    const again = await serve({ ready: true });
    expect((await fetch(`${again.url}/readyz`)).status).toBe(200);
  });

  it('/api/status is valid against its TypeBox schema', async () => {
    const { url } = await serve();
    const body: unknown = await (await fetch(`${url}/api/status`)).json();
    expect(checkStatus.Check(body)).toBe(true);
    expect(checkStatus.Check({ ...SAMPLE_STATUS, resources: [{ kind: 'Nope' }] })).toBe(false);
  });

  it('/metrics exposes every controller metric and the default process metrics', async () => {
    const { url, metrics } = await serve();
    metrics.setCommit('abc123');
    metrics.syncTotal.inc({ result: 'succeeded' });
    metrics.syncDuration.observe({ result: 'succeeded' }, 0.2);
    metrics.setResources([{ kind: 'TrainingRun', sync: 'Synced', health: 'Healthy' }]);
    metrics.providerCalls.inc({ provider: 'local', kind: 'TrainingRun', verb: 'list', outcome: 'ok' });
    metrics.errors.inc({ type: 'validation' });
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const name of [
      'mlform_sync_duration_seconds_bucket',
      'mlform_last_synced_commit_info{commit="abc123"} 1',
      'mlform_sync_total{result="succeeded"} 1',
      'mlform_resources{kind="TrainingRun",sync_status="Synced",health="Healthy"} 1',
      'mlform_provider_calls_total{provider="local",kind="TrainingRun",verb="list",outcome="ok"} 1',
      'mlform_trainings_running',
      'mlform_errors_total{type="validation"} 1',
      'mlform_leader',
      'process_cpu_seconds_total',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('webhook: 404 without a secret, 401 unsigned or wrong, 202 signed, 503 on a standby', async () => {
    const body = '{"ref":"refs/heads/main"}';
    const post = (url: string, signature?: string) =>
      fetch(`${url}/hooks/git`, {
        method: 'POST',
        body,
        headers: signature ? { 'x-hub-signature-256': signature } : {},
      });
    const disabled = await serve();
    const response = await post(disabled.url, signBody('s', body));
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('MLFORM_WEBHOOK_SECRET');
    await server?.close();

    const enabled = await serve({ secret: 's' });
    expect((await post(enabled.url)).status).toBe(401);
    expect((await post(enabled.url, signBody('wrong', body))).status).toBe(401);
    expect(enabled.hooks).toEqual([]);
    expect((await post(enabled.url, signBody('s', body))).status).toBe(202);
    expect(enabled.hooks).toEqual(['hook']);
    await server?.close();

    const standby = await serve({ secret: 's', outcome: 'standby' });
    expect((await post(standby.url, signBody('s', body))).status).toBe(503);
  });

  it('with a token, every route but the open ones needs it, on loopback too', async () => {
    const token = 'a-token-of-sufficient-length';
    const { url } = await serve({ token, secret: 's' });
    for (const open of ['/healthz', '/readyz', '/metrics'])
      expect((await fetch(`${url}${open}`)).status).toBe(200);
    for (const closed of ['/api/status', '/nope', '/']) {
      const response = await fetch(`${url}${closed}`);
      expect(response.status, closed).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('Bearer');
      expect(await response.text()).toContain('--auth-token-file');
    }
    const wrong = await fetch(`${url}/api/status`, { headers: { authorization: `Bearer ${token}x` } });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain(token);
    expect((await fetch(`${url}/api/status`, { headers: { authorization: `Basic ${token}` } })).status).toBe(
      401,
    );
    const right = await fetch(`${url}/api/status`, { headers: { authorization: `Bearer ${token}` } });
    expect(right.status).toBe(200);
    expect(checkStatus.Check(await right.json())).toBe(true);
    // The webhook authenticates by its signature, not by the token.
    const body = '{}';
    expect(
      (
        await fetch(`${url}/hooks/git`, {
          method: 'POST',
          body,
          headers: { 'x-hub-signature-256': signBody('s', body) },
        })
      ).status,
    ).toBe(202);
  });

  it('a status() that throws answers 500 with the message; stack frames never reach a client', async () => {
    const failing = await serve({
      status: () => {
        throw new TypeError(
          'cannot read properties of undefined\n    at SyncLoop.status (/srv/sync-loop.js:1:2)',
        );
      },
    });
    const response = await fetch(`${failing.url}/api/status`);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).toContain('cannot read properties of undefined');
    expect(text).not.toMatch(/ at |sync-loop\.js/);
    await server?.close();

    const stack = new Error('boom').stack ?? '';
    expect(stack).toMatch(/\n\s+at /);
    const leaky = await serve({
      status: () => ({ ...SAMPLE_STATUS, controller: { ...SAMPLE_STATUS.controller, lastError: stack } }),
    });
    const status = (await (await fetch(`${leaky.url}/api/status`)).json()) as ControllerStatus;
    expect(status.controller.lastError).toBe('Error: boom');
    expect(withoutStackFrames({ a: ['x\n    at f (g.js:1:1)\n  at h (i.js:2:2)'] })).toEqual({ a: ['x'] });
  });

  it('webhook: an oversized body gets 413 with connection: close, declared or not', async () => {
    const { url, hooks } = await serve({ secret: 's', maxBodyBytes: 1024 });
    const declared = await fetch(`${url}/hooks/git`, { method: 'POST', body: 'x'.repeat(4096) });
    expect(declared.status).toBe(413);
    expect(declared.headers.get('connection')).toBe('close');
    expect(await declared.text()).toContain('at most 1024 bytes');
    // A streamed body (chunked, no Content-Length) is cut when it passes the limit.
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(new Uint8Array(512));
        controller.close();
      },
    });
    const streamed = await fetch(`${url}/hooks/git`, {
      method: 'POST',
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(hooks).toEqual([]);
  });

  it('webhook: a replayed X-GitHub-Delivery is acknowledged without a sync; a new id syncs', async () => {
    const { url, hooks } = await serve({ secret: 's' });
    const body = '{"ref":"refs/heads/main"}';
    const post = (delivery: string) =>
      fetch(`${url}/hooks/git`, {
        method: 'POST',
        body,
        headers: { 'x-hub-signature-256': signBody('s', body), 'x-github-delivery': delivery },
      });
    expect((await post('d-1')).status).toBe(202);
    const replay = await post('d-1');
    expect(replay.status).toBe(200);
    expect(await replay.text()).toContain('duplicate delivery ignored');
    expect((await post('d-2')).status).toBe(202);
    expect(hooks).toEqual(['hook', 'hook']);
  });

  it('parses --listen forms', () => {
    expect(parseListen(':8080')).toEqual({ host: undefined, port: 8080 });
    expect(parseListen('8080')).toEqual({ host: undefined, port: 8080 });
    expect(parseListen('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListen('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(() => parseListen('localhost')).toThrow(/--listen/);
  });

  it('tells loopback addresses from the others', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'])
      expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of ['0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1'])
      expect(isLoopbackAddress(a), a).toBe(false);
  });

  it('refuses to listen beyond loopback without a token', async () => {
    const metrics = createControllerMetrics();
    const started = await startStatusServer({
      listen: '0.0.0.0:0',
      registry: metrics.registry,
      status: () => SAMPLE_STATUS,
      isReady: () => true,
      isLeader: () => true,
      onWebhook: () => 'accepted',
    });
    expect(started.server).toBeUndefined();
    expect(started.diagnostics.map((d) => d.code)).toEqual(['listen-without-token']);
    expect(started.diagnostics[0].hint).toContain('--auth-token-file');
  });
});
