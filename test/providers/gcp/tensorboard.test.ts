/**
 * Managed TensorBoard on gcp (providers/gcp/README.md "TensorBoard"): the CustomJob's and the
 * HyperparameterTuningJob's `tensorboard` field (bodies checked by the fake against the SDK's
 * protos), `{create: true}` finding or creating the stack's instance once and only when a run is
 * launched, a misnamed instance as a positioned error, and the run's page URL.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openProject } from '../../../controller/cli/project.js';
import { createGcpProvider } from '../../../providers/gcp/index.js';
import { tensorboardUrl } from '../../../providers/gcp/tensorboard.js';
import type { CreateRunRequest } from '../../../providers/provider.js';
import type { TrainingRunSpec } from '../../../resources/training-run.js';
import { CONFIG, harness, type Harness } from './helpers.js';
import { gcsRunSpec } from './run-fixtures.js';
import { cpuTrainingManifest, gcpProjectFile } from './project-file.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const request = (number: number, spec: TrainingRunSpec = gcsRunSpec): CreateRunRequest => ({
  name: 'mpg-mlp',
  number,
  spec,
  specHash: 'b'.repeat(64),
  attempt: 1,
  manifestPath: 'training.yaml',
  labels: {},
  annotations: {},
});

const tensorboardCalls = (target: Harness) =>
  target.fake.count({ rpc: 'ListTensorboards' }) + target.fake.count({ rpc: 'CreateTensorboard' });

describe('gcp.tensorboard', () => {
  it('an instance by name: the job streams into it, its output directory unchanged, and the run links its page', async () => {
    h = await harness();
    const board = h.fake.seed.tensorboard({
      project: 'demo-proj',
      location: 'europe-west4',
      displayName: 'team',
    });
    const name = String(board.name);
    await h.close();
    h = await harness({}, { config: { ...CONFIG, tensorboard: name } });
    // A fresh fake: the same instance name again (ids are numbered per fake).
    expect(
      h.fake.seed.tensorboard({ project: 'demo-proj', location: 'europe-west4', displayName: 'team' }).name,
    ).toBe(name);
    const created = await h.provider.trainingRuns.create(h.ctx, request(1));
    expect(created.diagnostics).toEqual([]);
    const [job] = h.fake.customJobs();
    expect(job).toMatchObject({
      jobSpec: {
        tensorboard: name,
        baseOutputDirectory: { outputUriPrefix: 'gs://mlform-test/state/demo/runs/mpg-mlp/1' },
      },
    });
    const jobId = String(job.name).split('/').pop() ?? '';
    const id = name.split('/').pop() ?? '';
    const page = `https://europe-west4.tensorboard.googleusercontent.com/experiment/projects+demo-proj+locations+europe-west4+tensorboards+${id}+experiments+${jobId}`;
    expect(created.run?.tensorboardUrl).toBe(page);
    const listed = await h.provider.trainingRuns.list(h.ctx);
    expect(listed.items.find((r) => r.number === 1)?.tensorboardUrl).toBe(page);
    // A name is used as written: no TensorboardService call at all.
    expect(tensorboardCalls(h)).toBe(0);
  });

  it('create: true creates the stack instance on the first launch only, and a new process finds it', async () => {
    h = await harness({}, { config: { ...CONFIG, tensorboard: { create: true } } });
    // Observation (what a plan does) never touches TensorBoard.
    await h.provider.trainingRuns.list(h.ctx);
    expect(tensorboardCalls(h)).toBe(0);
    expect(h.fake.tensorboards()).toEqual([]);

    expect((await h.provider.trainingRuns.create(h.ctx, request(1))).diagnostics).toEqual([]);
    expect((await h.provider.trainingRuns.create(h.ctx, request(2))).diagnostics).toEqual([]);
    const boards = h.fake.tensorboards();
    expect(boards).toEqual([
      expect.objectContaining({
        displayName: 'mlform-demo_tensorboard',
        labels: { 'mlform-stack': 'demo', 'mlform-kind': 'tensorboard' },
      }),
    ]);
    expect(h.fake.count({ rpc: 'CreateTensorboard' })).toBe(1);
    expect(h.fake.count({ rpc: 'ListTensorboards' })).toBe(1);
    expect(h.fake.customJobs().map((j) => (j.jobSpec as { tensorboard?: string }).tensorboard)).toEqual([
      boards[0].name,
      boards[0].name,
    ]);

    // Another apply (a new process): found by its labels, not created again.
    const again = createGcpProvider({
      config: { ...CONFIG, tensorboard: { create: true } },
      endpoint: h.fake.url,
      retry: { baseDelayMs: 5, maxDelayMs: 50 },
    });
    try {
      expect((await again.trainingRuns.create(h.ctx, request(3))).diagnostics).toEqual([]);
    } finally {
      await again.close();
    }
    expect(h.fake.count({ rpc: 'CreateTensorboard' })).toBe(1);
    expect(h.fake.tensorboards()).toHaveLength(1);
    expect(h.fake.customJobs()[2]?.jobSpec).toMatchObject({ tensorboard: boards[0].name });
  });

  it('a process looks the instance up again after 10 minutes (one deleted by hand would be recreated)', async () => {
    let now = Date.now();
    h = await harness(
      {},
      {
        config: { ...CONFIG, tensorboard: { create: true } },
        settings: { pollMs: 20, now: () => new Date(now) },
      },
    );
    expect((await h.provider.trainingRuns.create(h.ctx, request(1))).diagnostics).toEqual([]);
    now += 9 * 60_000;
    expect((await h.provider.trainingRuns.create(h.ctx, request(2))).diagnostics).toEqual([]);
    expect(h.fake.count({ rpc: 'ListTensorboards' })).toBe(1);
    now += 2 * 60_000;
    expect((await h.provider.trainingRuns.create(h.ctx, request(3))).diagnostics).toEqual([]);
    expect(h.fake.count({ rpc: 'ListTensorboards' })).toBe(2);
    expect(h.fake.count({ rpc: 'CreateTensorboard' })).toBe(1);
  });

  it("another stack's instance, or one relabelled by hand, is not ours: a new one is created", async () => {
    h = await harness({}, { config: { ...CONFIG, tensorboard: { create: true } } });
    h.fake.seed.tensorboard({
      project: 'demo-proj',
      location: 'europe-west4',
      displayName: 'mlform-other_tensorboard',
      labels: { 'mlform-stack': 'other', 'mlform-kind': 'tensorboard' },
    });
    h.fake.seed.tensorboard({
      project: 'demo-proj',
      location: 'europe-west4',
      displayName: 'renamed',
      labels: { 'mlform-stack': 'demo', 'mlform-kind': 'tensorboard' },
    });
    expect((await h.provider.trainingRuns.create(h.ctx, request(1))).diagnostics).toEqual([]);
    expect(h.fake.count({ rpc: 'CreateTensorboard' })).toBe(1);
    const mine = h.fake.tensorboards().find((b) => b.displayName === 'mlform-demo_tensorboard');
    expect(h.fake.customJobs()[0]?.jobSpec).toMatchObject({ tensorboard: mine?.name });
  });

  it('a CreateTensorboard whose response was lost is found by its labels, not sent again', async () => {
    h = await harness({}, { config: { ...CONFIG, tensorboard: { create: true } } });
    h.fake.failNext({ rpc: 'CreateTensorboard', kind: '503', afterEffect: true });
    expect((await h.provider.trainingRuns.create(h.ctx, request(1))).diagnostics).toEqual([]);
    expect(h.fake.count({ rpc: 'CreateTensorboard' })).toBe(1);
    expect(h.fake.tensorboards()).toHaveLength(1);
    expect(h.fake.customJobs()[0]?.jobSpec).toMatchObject({ tensorboard: h.fake.tensorboards()[0]?.name });
  });

  it('an instance that does not exist fails the launch with the error Vertex gives, and no marker stays', async () => {
    const missing = 'projects/demo-proj/locations/europe-west4/tensorboards/404';
    h = await harness({}, { config: { ...CONFIG, tensorboard: missing } });
    const failed = await h.provider.trainingRuns.create(h.ctx, request(1));
    expect(failed.diagnostics).toEqual([
      expect.objectContaining({
        severity: 'error',
        message: expect.stringContaining(`Tensorboard ${missing}`),
      }),
    ]);
    expect(h.fake.customJobs()).toEqual([]);
    expect(h.fake.objects('mlform-test').filter((o) => String(o.name).includes('/pending/'))).toEqual([]);
  });

  it("a HyperparameterTuningJob's trials stream into the instance too", async () => {
    h = await harness(
      { runContainer: () => Promise.resolve({ exitCode: 0 }) },
      { config: { ...CONFIG, tensorboard: { create: true } } },
    );
    const { loadResourceValue } = await import('../../../manifests/load.js');
    const loaded = loadResourceValue(
      {
        apiVersion: 'mlform/v1',
        kind: 'TrainingRun',
        metadata: { name: 'mpg-mlp' },
        spec: {
          trainer: {
            builtin: {
              task: 'regression',
              data: { uri: 'gs://data/cars.json', target: 'y', features: ['a'], validationSplit: 0.2 },
            },
          },
          resources: { machineType: 'n1-standard-4' },
          tuning: {
            trials: 2,
            parallel: 1,
            metric: 'val_mae',
            space: { learningRate: { logUniform: [0.001, 0.1] } },
          },
        },
      },
      'x.json',
    );
    expect(loaded.diagnostics).toEqual([]);
    const spec = (loaded.resource?.manifest as { spec: TrainingRunSpec }).spec;
    expect((await h.provider.trainingRuns.create(h.ctx, request(1, spec))).diagnostics).toEqual([]);
    const [board] = h.fake.tensorboards();
    expect(h.fake.hyperparameterTuningJobs()[0]).toMatchObject({
      trialJobSpec: {
        tensorboard: board?.name,
        baseOutputDirectory: { outputUriPrefix: 'gs://mlform-test/state/demo/runs/mpg-mlp/1' },
      },
    });
  });

  it('the page URL is built only from a well-formed instance name and a numeric job id', () => {
    expect(tensorboardUrl('projects/p-1234/locations/us-central1/tensorboards/42', '7')).toBe(
      'https://us-central1.tensorboard.googleusercontent.com/experiment/projects+p-1234+locations+us-central1+tensorboards+42+experiments+7',
    );
    expect(tensorboardUrl('projects/p/locations/evil.example.com#/tensorboards/42', '7')).toBeUndefined();
    expect(tensorboardUrl('projects/p-1234/locations/us-central1/tensorboards/42', '../x')).toBeUndefined();
  });
});

describe('gcp.tensorboard in mlform.yaml', () => {
  const check = async (value: string) => {
    const dir = await mkdtemp(join(tmpdir(), 'mlform-gcp-tensorboard-'));
    try {
      await writeFile(join(dir, 'mlform.yaml'), `${gcpProjectFile('europe-west4')}  tensorboard: ${value}\n`);
      await writeFile(join(dir, 'training.yaml'), cpuTrainingManifest('gs://b/cars.json'));
      const { project, diagnostics } = await openProject([dir]);
      return {
        project,
        shown: diagnostics.map((d) => `${d.line}:${d.col} ${d.code} ${d.message} (${d.hint ?? ''})`),
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  it('a name that is not an instance is an error at the field, with the form to write', async () => {
    const { project, shown } = await check('my-board');
    expect(project).toBeUndefined();
    expect(shown).toEqual([
      '11:16 gcp-tensorboard-name gcp.tensorboard "my-board" is not a TensorBoard instance name (write `projects/demo-proj/locations/europe-west4/tensorboards/<numeric id>` (gcloud ai tensorboards list --region europe-west4), or `{create: true}`)',
    ]);
  });

  it('an instance outside the training region is an error: Vertex would refuse every job', async () => {
    const { shown } = await check('projects/demo-proj/locations/us-central1/tensorboards/123');
    expect(shown).toEqual([
      expect.stringMatching(
        /^11:16 gcp-tensorboard-region gcp\.tensorboard is in us-central1, but trainings run in europe-west4/,
      ),
    ]);
  });

  it('a name in the training region and {create: true} load', async () => {
    expect((await check('projects/demo-proj/locations/europe-west4/tensorboards/123')).shown).toEqual([]);
    expect((await check('{create: true}')).shown).toEqual([]);
  });
});
