/**
 * A local endpoint with `spec.monitoring` (issue 15): the provider writes the settings into the
 * serving config.json with the state's monitoring/<name> root; the detached server logs the
 * sampled requests, counts the window and joins feedback there; a changed spec.monitoring is a
 * normal update (a restart whose drain writes what was buffered).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localStore } from '../../../artifact/storage.js';
import type { EndpointMonitoring } from '../../../resources/monitoring.js';
import type { ObservedVersion, PutEndpointRequest } from '../../../providers/provider.js';
import { readJson, tempProject, trainedIris, type Project } from './helpers.js';

let project: Project;
let v1: ObservedVersion;

beforeAll(async () => {
  project = await tempProject({ basePort: 23000 + (process.pid % 1000) * 8 });
  v1 = (await trainedIris(project, 4)).version;
}, 90_000);

afterAll(async () => {
  await project?.cleanup();
});

const monitoring = (sampleRate: number): EndpointMonitoring => ({
  sampleRate,
  window: '1h',
  minSamples: 1,
  drift: { metric: 'psi', threshold: 0.2 },
  retention: '168h',
});

const request = (sampleRate: number): PutEndpointRequest => ({
  name: 'iris-api',
  spec: {
    model: 'iris',
    traffic: [{ version: v1.version, percent: 100 }],
    preset: 'development',
    batching: { enabled: true, maxBatchSize: 32, batchTimeoutMicros: 0 },
    timeoutSeconds: 60,
    monitoring: monitoring(sampleRate),
  },
  specHash: `monitoring-${sampleRate}`,
  traffic: [{ version: v1.version, percent: 100, artifactUri: v1.artifactUri }],
  labels: {},
  annotations: {},
});

const setosa = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

describe('a local endpoint with spec.monitoring', () => {
  it('logs, counts and joins feedback under the state directory', async () => {
    const { provider, ctx } = project;
    const put = await provider.deployedEndpoints.put(ctx, request(1));
    expect(put.diagnostics).toEqual([]);
    const root = join(project.stateDir, 'monitoring', 'iris-api');
    const config = await readJson<{ monitoring?: unknown }>(
      join(project.stateDir, 'endpoints', 'iris-api', 'config.json'),
    );
    expect(config.monitoring).toEqual({
      root,
      endpoint: 'iris-api',
      sampleRate: 1,
      windowSeconds: 3600,
      retentionSeconds: 168 * 3600,
    });
    const url = put.endpoint?.url as string;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${url}/v1/models/iris:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [setosa] }),
      });
      expect(res.status).toBe(200);
      ids.push(res.headers.get('x-mlform-request-id') ?? '');
      await res.text();
    }
    const fed = await fetch(`${url}/v1/models/iris:feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ feedback: [{ id: ids[0], truth: 'setosa' }] }),
    });
    expect(await fed.json()).toMatchObject({ matched: 1, unmatched: 0 });

    // A changed sampleRate is an update: the server restarts, and its drain writes the buffers.
    const update = await provider.deployedEndpoints.put(ctx, request(0.5));
    expect(update.diagnostics).toEqual([]);
    const logged = (
      await Promise.all((await localStore.list(join(root, 'logs'))).map((f) => readFile(f, 'utf8')))
    )
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { id: string; endpoint: string; version: number });
    expect(logged.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(logged[0]).toMatchObject({ endpoint: 'iris-api', version: v1.version });
    const summaries = await Promise.all(
      (await localStore.list(join(root, 'windows'))).map(
        async (f) => JSON.parse(await readFile(f, 'utf8')) as { count: number; quality?: { count: number } },
      ),
    );
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ count: 3, quality: { count: 1 } });
    expect(await localStore.list(join(root, 'feedback'))).toHaveLength(1);
    await provider.deployedEndpoints.delete(ctx, { name: 'iris-api' });
  });
});
