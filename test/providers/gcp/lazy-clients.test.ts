/**
 * Start-up (README.md "Start-up"): a plan builds only the SDK clients its calls need (none for its
 * lists: rest-lists.ts), each once, and the no-op plan's calls are unchanged (one list per Google
 * resource type, three GCS listings).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadManifests } from '../../../manifests/load.js';
import { observe } from '../../../controller/engine/observe.js';
import { validateResources } from '../../../controller/cli/project.js';
import type { ClientName } from '../../../providers/gcp/clients.js';
import { harness, type Harness } from './helpers.js';

const TRAINING = (env: string) => `apiVersion: mlform/v1
kind: TrainingRun
metadata: {name: mpg}
spec:
  trainer:
    container:
      image: europe-docker.pkg.dev/demo-proj/ml/train:1
      env:
${env}
`;

let h: Harness | undefined;
let dir: string | undefined;
afterEach(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  h = dir = undefined;
});

/** validate + observe, as `mlform plan` runs them; returns the clients built and the calls made. */
async function planCalls(manifest: string, seedSecret = false) {
  const built: ClientName[] = [];
  h = await harness({}, { onClientBuilt: (name) => built.push(name) });
  if (seedSecret) h.fake.seed.secret('demo-proj', 'hf_token', 'x');
  dir = await mkdtemp(join(tmpdir(), 'mlform-lazy-clients-'));
  await writeFile(join(dir, 'training.yaml'), manifest);
  const { desired, diagnostics } = await loadManifests([dir]);
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  expect(built).toEqual([]); // nothing before the first call
  h.fake.resetRequests();
  const found = await h.provider.validate?.(h.ctx, validateResources(desired));
  expect(found?.filter((d) => d.severity === 'error')).toEqual([]);
  const observed = await observe(h.provider, h.ctx);
  expect(observed.diagnostics).toEqual([]);
  await observe(h.provider, h.ctx); // a second observation builds nothing more
  const calls = h.fake.requests.map((r) => `${r.api} ${r.rpc}`).sort();
  return { built: [...built].sort(), calls };
}

describe('gcp clients are built on first use', () => {
  it('a plan without secretRefs builds no SDK client (its lists go over REST) and keeps its calls', async () => {
    const { built, calls } = await planCalls(TRAINING('        MODE: fast'));
    // providers/gcp/rest-lists.ts: an observation needs neither google-gax nor a client.
    expect(built).toEqual([]);
    const once = [
      'aiplatform ListCustomJobs',
      'aiplatform ListHyperparameterTuningJobs',
      'aiplatform ListModels',
      'run ListServices',
      'scheduler ListJobs',
      'storage objects.list',
      'storage objects.list',
      'storage objects.list',
    ];
    expect(calls).toEqual([...once, ...once].sort());
  });

  it('a secretRef builds Secret Manager for the existence check', async () => {
    const { built, calls } = await planCalls(
      TRAINING('        HF_TOKEN:\n          secretRef: {name: hf, key: token}'),
      true,
    );
    expect(built).toEqual(['secrets']);
    expect(calls.filter((c) => c.startsWith('secretmanager'))).toHaveLength(1);
  });
});
