/**
 * Local endpoints end to end: a real iris training, registered, served by a detached `mlform
 * serve`, predicting over HTTP. A killed server is unhealthy drift; put restarts it on the same
 * port; an unchanged put leaves a healthy server alone; a version that cannot load never takes
 * traffic; delete stops the process.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObservedVersion, PutEndpointRequest } from '../../../providers/provider.js';
import { isAlive, readJson, tempProject, trainedIris, waitFor, type Project } from './helpers.js';

let project: Project;
let v1: ObservedVersion;
let v2: ObservedVersion;
let broken: ObservedVersion;

beforeAll(async () => {
  // Below Linux's ephemeral range (32768+): an outgoing connection elsewhere cannot grab the port
  // between a kill and the restart, which would make "restarts on the same port" flaky.
  project = await tempProject({ basePort: 21000 + (process.pid % 1000) * 8 });
  const { provider, ctx } = project;
  const trained = await trainedIris(project, 8);
  const run = trained.run;
  v1 = trained.version;
  // A second version: the same artifact registered from another (pretend) run.
  v2 = (await provider.registeredModels.registerVersion(ctx, { model: 'iris', run: { ...run, number: 2 } }))
    .version as ObservedVersion;
  broken = (
    await provider.registeredModels.registerVersion(ctx, { model: 'iris', run: { ...run, number: 3 } })
  ).version as ObservedVersion;
  await writeFile(join(broken.artifactUri, 'model.json'), '{"broken": true}');
}, 90_000);

afterAll(async () => {
  await project?.cleanup();
});

const request = (
  traffic: { version: ObservedVersion; percent: number }[],
  batch = 32,
): PutEndpointRequest => ({
  name: 'iris-api',
  spec: {
    model: 'iris',
    traffic: traffic.map((t) => ({ version: t.version.version, percent: t.percent })),
    preset: 'development',
    scaling: { minInstances: 0, maxInstances: 2 },
    resources: { memory: '2Gi', cpu: '1' },
    batching: { enabled: true, maxBatchSize: batch, batchTimeoutMicros: 0 },
    timeoutSeconds: 60,
  },
  specHash: `endpoint-${batch}`,
  traffic: traffic.map((t) => ({
    version: t.version.version,
    percent: t.percent,
    artifactUri: t.version.artifactUri,
  })),
  labels: {},
  annotations: {},
});

const setosa = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

async function predict(
  url: string,
): Promise<{ status: number; body: { predictions?: { label: string }[] } }> {
  const res = await fetch(`${url}/v1/models/iris:predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [setosa] }),
  });
  return { status: res.status, body: (await res.json()) as { predictions?: { label: string }[] } };
}

interface EndpointRecord {
  pid: number;
  port: number;
}
const record = () =>
  readJson<EndpointRecord>(join(project.stateDir, 'endpoints', 'iris-api', 'endpoint.json'));

describe('a local endpoint', () => {
  it('serves predictions over HTTP once put returns', async () => {
    const { provider, ctx } = project;
    const put = await provider.deployedEndpoints.put(ctx, request([{ version: v1, percent: 100 }]));
    expect(put.diagnostics).toEqual([]);
    expect(put.endpoint).toMatchObject({
      healthy: true,
      model: 'iris',
      traffic: [{ version: 1, percent: 100 }],
    });
    const answer = await predict(put.endpoint?.url as string);
    expect(answer.status).toBe(200);
    expect(['setosa', 'versicolor', 'virginica']).toContain(answer.body.predictions?.[0].label);

    const listed = await provider.deployedEndpoints.list(ctx);
    expect(listed.items).toHaveLength(1);
    expect(listed.items[0]).toMatchObject({
      healthy: true,
      specHash: 'endpoint-32',
      live: { batching: { enabled: true, maxBatchSize: 32, batchTimeoutMicros: 0 }, timeoutSeconds: 60 },
    });
  });

  it('leaves a healthy server with an unchanged config alone', async () => {
    const { provider, ctx } = project;
    const before = await record();
    const put = await provider.deployedEndpoints.put(ctx, request([{ version: v1, percent: 100 }]));
    expect(put.diagnostics).toEqual([]);
    expect((await record()).pid).toBe(before.pid);
  });

  it('a killed server is unhealthy; put restarts it on the same port', async () => {
    const { provider, ctx } = project;
    const before = await record();
    process.kill(before.pid, 'SIGKILL');
    await waitFor(
      async () => isAlive(before.pid),
      (alive) => !alive,
      { timeoutMs: 5_000 },
    );

    const listed = await provider.deployedEndpoints.list(ctx);
    expect(listed.items[0].healthy).toBe(false);
    expect(listed.items[0].healthDetail).toBe(`process ${before.pid} not running`);

    const put = await provider.deployedEndpoints.put(ctx, request([{ version: v1, percent: 100 }]));
    expect(put.diagnostics).toEqual([]);
    const after = await record();
    expect(after.pid).not.toBe(before.pid);
    expect(after.port).toBe(before.port);
    expect((await predict(put.endpoint?.url as string)).status).toBe(200);
  });

  it('splits traffic across versions and reads the split back from what is served', async () => {
    const { provider, ctx } = project;
    const put = await provider.deployedEndpoints.put(
      ctx,
      request([
        { version: v1, percent: 80 },
        { version: v2, percent: 20 },
      ]),
    );
    expect(put.diagnostics).toEqual([]);
    const listed = await provider.deployedEndpoints.list(ctx);
    expect(listed.items[0].traffic).toEqual([
      { version: 1, percent: 80 },
      { version: 2, percent: 20 },
    ]);
    expect(listed.items[0].healthy).toBe(true);
  });

  it('a version that cannot load never takes traffic: the previous config serves again', async () => {
    const { provider, ctx } = project;
    const before = await record();
    const put = await provider.deployedEndpoints.put(ctx, request([{ version: broken, percent: 100 }], 16));
    expect(put.diagnostics.map((d) => d.code)).toEqual(['local-endpoint-exited']);
    expect(put.diagnostics[0].hint).toContain('the previous config serves again');
    expect(put.diagnostics[0].message).toMatch(/exited with 1 before it was ready: .*versions\/3/);
    expect(put.endpoint?.healthy).toBe(true);
    const listed = await provider.deployedEndpoints.list(ctx);
    // Still the 80/20 split under its old spec hash: the next plan shows the change again.
    expect(listed.items[0]).toMatchObject({ specHash: 'endpoint-32', healthy: true });
    expect((await record()).port).toBe(before.port);
    expect((await predict(listed.items[0].url as string)).status).toBe(200);
  });

  it('delete stops the server and removes the endpoint', async () => {
    const { provider, ctx } = project;
    const { pid } = await record();
    expect((await provider.deployedEndpoints.delete(ctx, { name: 'iris-api' })).diagnostics).toEqual([]);
    // An exiting process has released its command line a moment before it is a zombie.
    await waitFor(
      async () => isAlive(pid),
      (alive) => !alive,
      { timeoutMs: 5_000 },
    );
    expect((await provider.deployedEndpoints.list(ctx)).items).toEqual([]);
    expect((await provider.deployedEndpoints.delete(ctx, { name: 'iris-api' })).diagnostics).toEqual([]);
  });
});
