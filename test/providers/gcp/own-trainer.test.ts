/**
 * Your own trainer on gcp (`trainer.container`, docs/artifact.md) against test/fakes/gcp: the fake
 * runs a "container" (runContainer) that writes an ONNX artifact and metrics.json into the job's
 * AIP_MODEL_DIR. Through `mlform apply` in process: the job carries the hyperparameters, the run
 * succeeds, its metrics go through the model's gate and it is registered; a failing gate registers
 * nothing; an artifact without valid metrics.json fails the run with the file and the field.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../controller/cli/main.js';
import { openProject } from '../../../controller/cli/project.js';
import { startFakeGcp, type FakeContainerRun, type FakeGcp } from '../../fakes/gcp/index.js';
import { fakeContext } from '../../cli/handlers/fake-context.js';
import { gcpProjectFile } from './project-file.js';
import { harness, waitFor, type Harness } from './helpers.js';
import type { TrainingRunSpec } from '../../../resources/training-run.js';
import { NAMED } from '../../fixtures/onnx-contract/descriptors.js';

const ONNX = join(import.meta.dirname, '../../fixtures/onnx-contract/named-3.onnx');

/** What the "container" writes as metrics.json, per test. */
let metricsToWrite: unknown;
const ran: FakeContainerRun[] = [];

/** A trainer image following the contract: the artifact goes to AIP_MODEL_DIR (gs:// of the fake). */
async function ownTrainer(run: FakeContainerRun): Promise<{ exitCode: number }> {
  ran.push(run);
  const { Storage } = await import('@google-cloud/storage');
  const storage = new Storage({ apiEndpoint: run.env.STORAGE_EMULATOR_HOST, projectId: 'x' });
  const m = /^gs:\/\/([^/]+)\/(.*?)\/?$/.exec(run.env.AIP_MODEL_DIR ?? '');
  if (!m) return { exitCode: 2 };
  const save = (name: string, body: string | Buffer) =>
    storage.bucket(m[1]).file(`${m[2]}/${name}`).save(body, { resumable: false });
  await save('model.onnx', await readFile(ONNX));
  await save('artifact.json', JSON.stringify(NAMED));
  if (metricsToWrite !== undefined) await save('metrics.json', JSON.stringify(metricsToWrite));
  // run.json is mlform's (lineage); one a container writes must not count.
  await save(
    'run.json',
    JSON.stringify({ specHash: 'x', gitCommit: 'forged', data: { sha256: 'f'.repeat(64) } }),
  );
  return { exitCode: 0 };
}

const TRAINING = (valMae: number) => `apiVersion: mlform/v1
kind: TrainingRun
metadata:
  name: mpg-onnx
spec:
  model: mpg
  trainer:
    command: [python3, train.py]
    workingDir: trainer
    network: false
    hyperparameters: {lr: 0.01, layers: 2, scaled: true, note: run-${valMae}}
    container:
      image: europe-docker.pkg.dev/demo-proj/team/torch-trainer:3
      args: [--data, gs://data/cars.csv]
      env: {LOG_LEVEL: info}
  resources:
    machineType: n1-standard-4
`;

const MODEL = `apiVersion: mlform/v1
kind: RegisteredModel
metadata:
  name: mpg
spec:
  gate: {metric: val_mae, max: 3, beatBaseline: true}
`;

describe('your own trainer container through mlform apply', () => {
  let fake: FakeGcp;
  let dir: string;
  beforeAll(async () => {
    fake = await startFakeGcp({
      runContainer: ownTrainer,
      jobTiming: { queuedMs: 5, pendingMs: 5, runningMs: 5 },
    });
    dir = await mkdtemp(join(tmpdir(), 'mlform-gcp-own-'));
    await writeFile(
      join(dir, 'mlform.yaml'),
      gcpProjectFile('europe-west4').replace('stack: demo', 'stack: own'),
    );
    await writeFile(join(dir, 'model.yaml'), MODEL);
    vi.stubEnv('MLFORM_GCP_API_ENDPOINT', fake.url);
    vi.stubEnv('MLFORM_GCP_RETRY_BASE_MS', '5');
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  const apply = async () => {
    const { ctx, stdout, stderr } = fakeContext({
      env: { MLFORM_GCP_API_ENDPOINT: fake.url, MLFORM_GCP_RETRY_BASE_MS: '5' },
    });
    const code = await main(['node', 'mlform', 'apply', '-y', dir], ctx);
    return { code, out: stdout() + stderr() };
  };

  it('trains with the hyperparameters, passes the gate and registers a version', async () => {
    metricsToWrite = {
      formatVersion: 1,
      metrics: { val_mae: 2.1 },
      baseline: { val_mae: 6.4 },
      task: 'regression',
    };
    await writeFile(join(dir, 'training.yaml'), TRAINING(2.1));
    const { code, out } = await apply();
    expect(out).toContain('+ TrainingRun/mpg-onnx (mpg-onnx#1)');
    expect(code, out).toBe(0);

    const spec = ran[0].containerSpec;
    expect(spec.imageUri).toBe('europe-docker.pkg.dev/demo-proj/team/torch-trainer:3');
    expect(spec.args).toEqual([
      '--data',
      'gs://data/cars.csv',
      '--layers=2',
      '--lr=0.01',
      '--note=run-2.1',
      '--scaled=true',
    ]);
    expect(ran[0].env).toMatchObject({
      MLFORM_HYPERPARAMETERS: '{"layers":2,"lr":0.01,"note":"run-2.1","scaled":true}',
      MLFORM_RUN: 'mpg-onnx#1',
      LOG_LEVEL: 'info',
      AIP_MODEL_DIR: 'gs://mlform-test/state/own/runs/mpg-onnx/1/model/',
    });

    const versions = fake.models();
    expect(versions).toHaveLength(1);
    expect(String(versions[0].artifactUri)).toBe('gs://mlform-test/state/own/runs/mpg-onnx/1/model');
  });

  it('a run that fails the gate is not registered', async () => {
    metricsToWrite = { formatVersion: 1, metrics: { val_mae: 5.2 }, baseline: { val_mae: 6.4 } };
    await writeFile(join(dir, 'training.yaml'), TRAINING(5.2));
    const { code, out } = await apply();
    expect(code, out).toBe(0);
    const { ctx, stdout } = fakeContext({ env: { MLFORM_GCP_API_ENDPOINT: fake.url } });
    expect(await main(['node', 'mlform', 'plan', dir], ctx)).toBe(0);
    expect(stdout()).toMatch(/mpg-onnx#2 failed the gate: val_mae 5\.2 > 3/);
    expect(ran).toHaveLength(2);
    expect(fake.models()).toHaveLength(1);
  });
});

describe('a container run whose artifact breaks the contract', () => {
  let h: Harness;
  afterEach(() => h?.close());

  const spec = {
    trainer: { container: { image: 'europe-docker.pkg.dev/p/r/t:1' }, hyperparameters: { depth: 4 } },
    resources: { machineType: 'n1-standard-4', spot: false },
  } as unknown as TrainingRunSpec;

  async function trainAndObserve(metrics: unknown) {
    metricsToWrite = metrics;
    h = await harness({ runContainer: ownTrainer, jobTiming: { queuedMs: 5, pendingMs: 5, runningMs: 5 } });
    const created = await h.provider.trainingRuns.create(h.ctx, {
      name: 'mpg-onnx',
      number: 1,
      spec,
      specHash: 'c'.repeat(64),
      attempt: 1,
      manifestPath: 'training.yaml',
      labels: {},
      annotations: {},
    });
    expect(created.diagnostics).toEqual([]);
    return waitFor(async () => {
      const { run } = await h.provider.trainingRuns.observe(h.ctx, { name: 'mpg-onnx', number: 1 });
      return run && run.state !== 'queued' && run.state !== 'running' ? run : undefined;
    });
  }

  it('metrics.json with a wrong field fails the run, naming the file and the field', async () => {
    const run = await trainAndObserve({
      formatVersion: 1,
      metrics: { val_mae: '1.2' },
      baseline: { val_mae: 6.4 },
    });
    expect(run.state).toBe('failed');
    expect(run.error).toBe(
      'metrics.json: metrics.val_mae must be a number or null; got string "1.2" (mlform artifact check gs://mlform-test/state/demo/runs/mpg-onnx/1/model)',
    );
    expect(run.metrics).toBeUndefined();
    // Cached: observed again from the outcome object, without reading metrics.json.
    const before = h.fake.count({ rpc: 'objects.get' });
    const again = await h.provider.trainingRuns.observe(h.ctx, { name: 'mpg-onnx', number: 1 });
    expect(again.run).toMatchObject({ state: 'failed', error: run.error });
    expect(h.fake.count({ rpc: 'objects.get' })).toBe(before);
  });

  it('no metrics.json at all fails the run; valid ones succeed with lineage from the job', async () => {
    const missing = await trainAndObserve(undefined);
    expect(missing).toMatchObject({
      state: 'failed',
      error:
        'the trainer exited 0 but wrote no metrics.json to gs://mlform-test/state/demo/runs/mpg-onnx/1/model (AIP_MODEL_DIR); see docs/artifact.md',
    });
    await h.close();
    const ok = await trainAndObserve({
      formatVersion: 1,
      metrics: { val_mae: 2, val_r2: null },
      baseline: { val_mae: 6 },
    });
    expect(ok).toMatchObject({
      state: 'succeeded',
      metrics: { val_mae: 2 },
      baseline: { val_mae: 6 },
    });
    // The container's own run.json is not lineage: the commit is the job's (this checkout's).
    expect(ok.dataSha256).toBeUndefined();
    expect(ok.gitCommit).not.toBe('forged');
    // (none outside a git checkout)
    if (ok.gitCommit !== undefined) expect(ok.gitCommit).toMatch(/^[0-9a-f]{40}(-dirty)?$/);
  });
});

describe('gcp validation of your own trainer', () => {
  it('a command without a container is a positioned error on spec.trainer.command', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlform-gcp-own-validate-'));
    try {
      await writeFile(join(dir, 'mlform.yaml'), gcpProjectFile('europe-west4'));
      await writeFile(join(dir, 'model.yaml'), MODEL);
      await writeFile(join(dir, 'training.yaml'), TRAINING(1).replace(/ {4}container:\n(.*\n){3}/, ''));
      const { diagnostics } = await openProject([dir]);
      expect(diagnostics.map((d) => `${d.line}:${d.col} ${d.code} ${d.message}`)).toEqual([
        '8:5 gcp-trainer-command spec.trainer.command: runs on the local provider only; add trainer.container.image for gcp',
      ]);
      // With a container as well, the command is the local provider's business.
      await writeFile(join(dir, 'training.yaml'), TRAINING(1));
      expect((await openProject([dir])).diagnostics).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
