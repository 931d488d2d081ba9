/**
 * The quickstart on `provider: gcp`, end to end through the CLI, against test/fakes/gcp: the fake
 * runs the real trainer (`mlform train` with the CustomJob's args and env, gs:// through the
 * fake's Cloud Storage), the CLI talks to the fake through MLFORM_GCP_API_ENDPOINT. Needs `dist/`
 * (`npm run build`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeGcp } from '../fakes/gcp/index.js';
import { mlformOn, startFakeWithTrainer } from './gcp-cli.js';

let root: string;
let project: string;
let fake: FakeGcp;

const mlform = (...args: string[]) => mlformOn(fake)(...args);

beforeAll(async () => {
  fake = await startFakeWithTrainer();
  root = await mkdtemp(join(tmpdir(), 'mlform-gcp-e2e-'));
  project = join(root, 'quickstart');
  await cp('examples/quickstart', project, { recursive: true, filter: (src) => !src.includes('.mlform') });
  await cp('examples/data/cars.json', join(root, 'data', 'cars.json'));
  // A clone, as in the README: the quickstart's ../data is inside the repository (its tree root).
  execFileSync('git', ['init', '-q', root]);
  await writeFile(
    join(project, 'mlform.yaml'),
    [
      'stack: quickstart',
      'provider: gcp',
      'gcp:',
      '  project: demo-proj',
      '  region: europe-west4',
      '  bucket: gs://mlform-test/state',
      '  trainerImage: europe-docker.pkg.dev/demo-proj/mlform/trainer:1',
      '  servingImage: europe-docker.pkg.dev/demo-proj/mlform/serving:1',
      '  serviceAccount: mlform-runner@demo-proj.iam.gserviceaccount.com',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await fake?.close();
  if (root) await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

type Json = Record<string, unknown>;
const labelsOf = (o: Json) => (o.labels ?? {}) as Record<string, string>;
const service = () => fake.services().find((s) => String(s.name).endsWith('/services/mpg-api'));

describe('mlform apply on the quickstart (gcp provider, fake Google)', () => {
  it('trains on Vertex AI, registers in the Model Registry, serves on Cloud Run, schedules', async () => {
    const first = await mlform('apply', '-y', project);
    expect(first.out).toContain('+ TrainingRun/mpg-mlp (mpg-mlp#1)');
    expect(first.out).toContain('Apply complete');
    expect(first.code).toBe(0);

    const jobs = fake.customJobs();
    expect(jobs).toHaveLength(1);
    expect(jobs[0].state).toBe('JOB_STATE_SUCCEEDED');
    expect(jobs[0].displayName).toBe('mlform-quickstart_mpg-mlp-1');
    expect(labelsOf(jobs[0])).toMatchObject({
      'mlform-stack': 'quickstart',
      'mlform-name': 'mpg-mlp',
      'mlform-run': '1',
    });

    const versions = fake.models();
    expect(versions).toHaveLength(1);
    expect(versions[0].versionId).toBe('1');
    expect(versions[0].versionAliases).toContain('champion');
    expect(String(versions[0].artifactUri)).toBe('gs://mlform-test/state/quickstart/runs/mpg-mlp/1');

    const svc = service() as Json;
    expect(svc).toBeDefined();
    const traffic = (svc.traffic ?? []) as { revision?: string; percent?: number }[];
    expect(traffic).toEqual([expect.objectContaining({ revision: 'mpg-api-v1', percent: 100 })]);

    expect(fake.schedulerJobs().map((j) => String(j.name).split('/').pop())).toEqual([
      'mlform-quickstart_mpg-weekly',
    ]);

    const logs = await mlform('logs', 'trainingrun/mpg-mlp', '--file', project);
    expect(logs.out).toContain('are in Cloud Logging');
    expect(logs.out).toContain('gcloud ai custom-jobs stream-logs');

    fake.resetRequests();
    const again = await mlform('plan', '--detailed-exitcode', project);
    expect(again.out).toContain('No changes');
    expect(again.code).toBe(0);
    // A no-op plan reads each collection once, with list calls only (no gets per resource, no
    // writes, no lock): one per Google resource type and three Cloud Storage listings (the runs'
    // pending markers and outcomes, the models' records). Sorted: the lists go out in parallel.
    const calls = fake.requests.map((r) => `${r.method} ${r.api} ${r.rpc}`).sort();
    expect(calls).toEqual([
      'GET aiplatform ListCustomJobs',
      'GET aiplatform ListHyperparameterTuningJobs',
      'GET aiplatform ListModels',
      'GET run ListServices',
      'GET scheduler ListJobs',
      'GET storage objects.list',
      'GET storage objects.list',
      'GET storage objects.list',
    ]);
  }, 300_000);

  it('a hyperparameter change retrains (-/+), registers v2 and keeps traffic on the champion', async () => {
    const file = join(project, 'training.yaml');
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace('learningRate: 0.003', 'learningRate: 0.002'),
    );
    const p = await mlform('plan', '--detailed-exitcode', project);
    expect(p.out).toContain('-/+ TrainingRun/mpg-mlp (mpg-mlp#2)');
    expect(p.code).toBe(2);
    const applied = await mlform('apply', '-y', project);
    expect(applied.out).toContain('Apply complete');
    expect(applied.code).toBe(0);
    const versions = fake.models();
    expect(versions.map((v) => v.versionId).sort()).toEqual(['1', '2']);
    const champion = versions.find((v) => ((v.versionAliases ?? []) as string[]).includes('champion'));
    const traffic = ((service() as Json).traffic ?? []) as { revision?: string; percent?: number }[];
    expect(traffic).toEqual([
      expect.objectContaining({ revision: `mpg-api-v${String(champion?.versionId)}`, percent: 100 }),
    ]);
    const after = await mlform('plan', '--detailed-exitcode', project);
    expect(after.code).toBe(0);
  }, 300_000);

  it('removing the endpoint manifest deletes the Cloud Run service', async () => {
    await rm(join(project, 'endpoint.yaml'));
    const p = await mlform('apply', '-y', project);
    expect(p.out).toContain('- DeployedEndpoint/mpg-api');
    expect(p.code).toBe(0);
    expect(service()).toBeUndefined();
  }, 120_000);
});
