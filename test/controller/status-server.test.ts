import { TypeCompiler } from '@sinclair/typebox/compiler';
import { afterEach, describe, expect, it } from 'vitest';
import { createControllerMetrics } from '../../controller/loop/metrics.js';
import { ControllerStatusSchema } from '../../controller/loop/status-schema.js';
import { SAMPLE_STATUS } from './sample-status.js';
import { parseListen, startStatusServer, type RunningServer } from '../../controller/loop/status-server.js';
import { signBody } from '../../controller/loop/webhook.js';
import type { WebhookOutcome } from '../../controller/loop/sync-loop.js';

const checkStatus = TypeCompiler.Compile(ControllerStatusSchema);

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(
  options: { secret?: string; ready?: boolean; leader?: boolean; outcome?: WebhookOutcome } = {},
) {
  const metrics = createControllerMetrics();
  const hooks: string[] = [];
  server = await startStatusServer({
    listen: '127.0.0.1:0',
    registry: metrics.registry,
    status: () => SAMPLE_STATUS,
    isReady: () => options.ready ?? true,
    isLeader: () => options.leader ?? true,
    webhookSecret: options.secret,
    onWebhook: () => {
      hooks.push('hook');
      return options.outcome ?? 'accepted';
    },
  });
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

  it('parses --listen forms', () => {
    expect(parseListen(':8080')).toEqual({ host: undefined, port: 8080 });
    expect(parseListen('8080')).toEqual({ host: undefined, port: 8080 });
    expect(parseListen('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListen('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(() => parseListen('localhost')).toThrow(/--listen/);
  });
});
