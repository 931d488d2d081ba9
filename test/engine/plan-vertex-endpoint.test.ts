/**
 * `platform: vertexEndpoint` in the plan: the Vertex presets, the note that Vertex has no scale to
 * zero, the monthly floor from the prediction node prices (hand-computed), the platform-only field
 * checks, and that an endpoint written without `platform` keeps its spec hash.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { plan } from '../../controller/engine/plan.js';
import { loadManifests } from '../../manifests/load.js';
import { specHash } from '../../resources/spec-hash.js';
import type { DeployedEndpointSpec } from '../../resources/deployed-endpoint.js';
import { COST_PROJECT } from './cost-stack.js';
import { NOW, empty, hashOf, version } from './helpers.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

const model = `apiVersion: mlform/v1
kind: RegisteredModel
metadata: { name: mpg }
spec:
  aliases: { champion: { policy: latest } }
---
`;
const endpoint = (spec: string) => `apiVersion: mlform/v1
kind: DeployedEndpoint
metadata: { name: api }
spec:
  model: mpg
  traffic: [{ version: 1, percent: 100 }]
${spec}`;

async function load(manifest: string) {
  dir = await mkdtemp(join(tmpdir(), 'mlform-vertex-plan-'));
  await writeFile(join(dir, 'mlform.yaml'), COST_PROJECT);
  await writeFile(join(dir, 'stack.yaml'), model + manifest);
  const loaded = await loadManifests([dir]);
  const e = loaded.desired.resources.find((r) => r.kind === 'DeployedEndpoint');
  return {
    ...loaded,
    endpoint: e as (typeof e & { manifest: { spec: DeployedEndpointSpec } }) | undefined,
  };
}

describe('DeployedEndpoint on platform vertexEndpoint in the plan', () => {
  it('the production preset is 1-5 replicas of n1-standard-4; its floor is 1 x node price x 730 h', async () => {
    const {
      desired,
      diagnostics,
      endpoint: e,
    } = await load(endpoint('  platform: vertexEndpoint\n  preset: production\n'));
    expect(diagnostics).toEqual([]);
    const spec = e?.manifest.spec;
    expect(spec?.scaling).toEqual({ minInstances: 1, maxInstances: 5 });
    expect(spec?.machine).toEqual({ machineType: 'n1-standard-4' });
    expect(spec?.resources).toBeUndefined();
    const item = plan(desired, empty(), { now: NOW }).cost?.items.find(
      (i) => i.address === 'DeployedEndpoint/api',
    );
    // us-central1: n1-standard-4 prediction node $0.219/h x 730 h.
    expect(item?.amount?.low).toBeCloseTo(159.87, 2);
    expect(item?.detail).toContain('Vertex AI prediction');
  });

  it('GPUs: 2 replicas x (n1-standard-8 + 1 T4) x 730 h; development says Vertex has no scale to zero', async () => {
    let loaded = await load(
      endpoint(
        '  platform: vertexEndpoint\n  scaling: {minInstances: 2, maxInstances: 4}\n  machine: {machineType: n1-standard-8, accelerator: {type: NVIDIA_TESLA_T4, count: 1}}\n',
      ),
    );
    const p = plan(loaded.desired, empty(), { now: NOW });
    const item = p.cost?.items.find((i) => i.address === 'DeployedEndpoint/api');
    // (0.4381 + 0.4025) x 730 x 2 = 1227.276
    expect(item?.amount?.low).toBeCloseTo(1227.276, 2);
    await rm(dir ?? '', { recursive: true, force: true });
    loaded = await load(endpoint('  platform: vertexEndpoint\n'));
    expect(loaded.endpoint?.manifest.spec.scaling).toEqual({ minInstances: 1, maxInstances: 1 });
    const observed = {
      ...empty(),
      models: [
        {
          name: 'mpg',
          specHash: hashOf(loaded.desired, 'RegisteredModel/mpg'),
          spec: loaded.desired.resources.find((r) => r.kind === 'RegisteredModel')?.manifest.spec,
          annotations: {},
          versions: [version(1)],
          aliases: { champion: 1 },
        },
      ],
    } as ReturnType<typeof empty>;
    const create = plan(loaded.desired, observed, { now: NOW }).changes.find(
      (c) => c.address === 'DeployedEndpoint/api',
    );
    expect(create?.reason).toContain('Vertex AI has no scale to zero');
  });

  it('platform-only fields are errors on the other platform, naming the field and the fix', async () => {
    const onRun = await load(endpoint('  machine: {machineType: n1-standard-4}\n'));
    expect(onRun.diagnostics.map((d) => [d.code, d.hint])).toEqual([
      ['endpoint-machine', expect.stringContaining('platform: vertexEndpoint')],
    ]);
    await rm(dir ?? '', { recursive: true, force: true });
    const onVertex = await load(
      endpoint(
        '  platform: vertexEndpoint\n  scaling: {minInstances: 0, maxInstances: 2}\n  resources: {cpu: "1", memory: 2Gi}\n',
      ),
    );
    expect(onVertex.diagnostics.map((d) => d.code).sort()).toEqual([
      'endpoint-min-replicas',
      'endpoint-resources',
    ]);
  });

  it('an endpoint without platform keeps the spec hash it had before the field existed', async () => {
    const { endpoint: e } = await load(endpoint('  preset: production\n'));
    expect(e?.manifest.spec.platform).toBeUndefined();
    expect(JSON.stringify(e?.manifest.spec)).not.toMatch(/platform|machine/);
    expect(e?.specHash).toBe(specHash(e?.manifest.spec));
  });
});
