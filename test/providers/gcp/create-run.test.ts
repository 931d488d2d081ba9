/**
 * gcp `createRun`'s steps against the fake: an existing job, the one pending-marker check (shared
 * by observation and create, under the apply lock and without it), and the marker a failed submit
 * leaves behind (none).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PROCESS_WRITER } from '../../../providers/gcp/context.js';
import { runOf, type VertexJob } from '../../../providers/gcp/jobs.js';
import type { CreateRunRequest, ProviderContext } from '../../../providers/provider.js';
import type { TrainingRunSpec } from '../../../resources/training-run.js';
import { harness, type Harness } from './helpers.js';
import { gcsRunSpec } from './run-fixtures.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const spec = gcsRunSpec;

const request = (specHash = 'b'.repeat(64)): CreateRunRequest => ({
  name: 'mpg-mlp',
  number: 1,
  spec,
  specHash,
  attempt: 1,
  manifestPath: 'training.yaml',
  labels: {},
  annotations: {},
});

async function writeMarker(target: Harness, writer: string, ageMs = 0): Promise<void> {
  const gcp = target.provider.gcp;
  await gcp.gcs.write(gcp.layout('demo').pending('mpg-mlp', 1), '{}', {
    metadata: { createdAt: new Date(Date.now() - ageMs).toISOString(), writer, specHash: 'b'.repeat(64) },
  });
}

const pendingMarkers = (target: Harness) =>
  target.fake.objects('mlform-test').filter((o) => String(o.name).includes('/pending/'));

describe('gcp createRun', () => {
  it('returns the existing job of that number; a different spec there is a number-taken error', async () => {
    h = await harness();
    const first = await h.provider.trainingRuns.create(h.ctx, request());
    expect(first.diagnostics).toEqual([]);
    const again = await h.provider.trainingRuns.create(h.ctx, request());
    expect(again).toMatchObject({ run: { name: 'mpg-mlp', number: 1 }, diagnostics: [] });
    const other = await h.provider.trainingRuns.create(h.ctx, request('e'.repeat(64)));
    expect(other.diagnostics).toEqual([
      expect.objectContaining({ code: 'gcp-run-number-taken', address: 'TrainingRun/mpg-mlp' }),
    ]);
    expect(h.fake.count({ rpc: 'CreateCustomJob' })).toBe(1);
  });

  it("records the manifests' git commit on the job and reads it back as the run's lineage", async () => {
    h = await harness();
    // The controller's checked-out commit; without it, git reads the tree (providers/git-commit.ts).
    const ctx: ProviderContext = { ...h.ctx, sourceRevision: 'c0ffee'.repeat(6) + 'c0ff' };
    const created = await h.provider.trainingRuns.create(ctx, request());
    expect(created.diagnostics).toEqual([]);
    const env = JSON.stringify(h.fake.customJobs());
    expect(env).toContain('MLFORM_GIT_COMMIT');
    expect(env).toContain(ctx.sourceRevision);
    const listed = await h.provider.trainingRuns.list(ctx);
    expect(listed.items.find((r) => r.name === 'mpg-mlp')?.gitCommit).toBe(ctx.sourceRevision);
  });

  it('a fresh marker of another writer is a create in flight for list and create alike, without the lock', async () => {
    h = await harness();
    await writeMarker(h, 'another-process');
    const listed = await h.provider.trainingRuns.list(h.ctx);
    expect(listed.items).toEqual([expect.objectContaining({ number: 1, state: 'queued' })]);
    const created = await h.provider.trainingRuns.create(h.ctx, request());
    expect(created.run).toMatchObject({ number: 1, state: 'queued' });
    expect(h.fake.count({ rpc: 'CreateCustomJob' })).toBe(0);
  });

  it('under the apply lock, another writer’s marker is no run for list and create; our own still is', async () => {
    h = await harness();
    const lock = await h.provider.lock(h.ctx, { holder: 'test', ttlMs: 60_000 });
    expect(lock.lease).toBeDefined();
    const locked: ProviderContext = { ...h.ctx, ...(lock.lease && { applyLock: lock.lease }) };

    await writeMarker(h, PROCESS_WRITER);
    expect((await h.provider.trainingRuns.list(locked)).items).toEqual([
      expect.objectContaining({ number: 1, state: 'queued' }),
    ]);
    expect((await h.provider.trainingRuns.create(locked, request())).run).toMatchObject({ state: 'queued' });
    expect(h.fake.count({ rpc: 'CreateCustomJob' })).toBe(0);

    await writeMarker(h, 'another-process');
    expect((await h.provider.trainingRuns.list(locked)).items).toEqual([]);
    const created = await h.provider.trainingRuns.create(locked, request());
    expect(created.diagnostics).toEqual([]);
    expect(h.fake.count({ rpc: 'CreateCustomJob' })).toBe(1);
    expect(h.fake.customJobs()).toHaveLength(1);
    await lock.lease?.release();
  });

  it('a stale marker is an interrupted launch: observed failed, and create launches the run', async () => {
    h = await harness();
    await writeMarker(h, 'another-process', 3_600_000);
    expect((await h.provider.trainingRuns.list(h.ctx)).items).toEqual([
      expect.objectContaining({ number: 1, state: 'failed' }),
    ]);
    const created = await h.provider.trainingRuns.create(h.ctx, request());
    expect(created.diagnostics).toEqual([]);
    expect(h.fake.count({ rpc: 'CreateCustomJob' })).toBe(1);
  });

  it('a submit that fails for good leaves no marker, so the run does not look in flight', async () => {
    h = await harness({ outOfCapacity: ['NVIDIA_L4'] });
    const created = await h.provider.trainingRuns.create(h.ctx, {
      ...request(),
      spec: {
        ...spec,
        resources: {
          machineType: 'g2-standard-8',
          accelerator: { type: 'NVIDIA_L4', count: 1 },
          spot: false,
        },
      } as TrainingRunSpec,
    });
    expect(created.diagnostics).toEqual([expect.objectContaining({ code: 'gcp-capacity' })]);
    expect(pendingMarkers(h)).toEqual([]);
  });
});

describe('gcp list gives back the spec as the manifest gave it', () => {
  it('with the data URI as written, although the job trains on the staged gs:// copy', async () => {
    h = await harness();
    const written = {
      ...spec,
      trainer: {
        builtin: {
          ...spec.trainer.builtin,
          data: { ...spec.trainer.builtin?.data, uri: 'file://examples/data/cars.json' },
        },
      },
    } as TrainingRunSpec;
    const created = await h.provider.trainingRuns.create(h.ctx, {
      ...request(),
      spec: written,
      manifestPath: 'x.yaml',
    });
    expect(created.diagnostics).toEqual([]);

    const [job] = h.fake.customJobs() as {
      jobSpec: { workerPoolSpecs: { containerSpec: { env: { name: string; value: string }[] } }[] };
    }[];
    const env = Object.fromEntries(
      job.jobSpec.workerPoolSpecs[0].containerSpec.env.map((e) => [e.name, e.value]),
    );
    const trained = JSON.parse(env.MLFORM_SPEC_JSON) as {
      spec: { trainer: { builtin: { data: { uri: string } } } };
    };
    expect(trained.spec.trainer.builtin.data.uri).toMatch(/^gs:\/\/mlform-test\//);

    const listed = await h.provider.trainingRuns.list(h.ctx);
    expect(listed.items.map((r) => r.spec)).toEqual([written]);
    // One list call: the spec comes with the job, nothing is read per run.
    expect(h.fake.count({ rpc: 'GetCustomJob' })).toBe(0);
  });

  it('a job without the manifest data URI (created before, or by a schedule) gives no spec', () => {
    const job = (env: Record<string, string>): VertexJob => ({
      labels: { 'mlform-name': 'mpg-mlp' },
      jobSpec: {
        workerPoolSpecs: [
          { containerSpec: { env: Object.entries(env).map(([name, value]) => ({ name, value })) } },
        ],
      },
    });
    const staged = JSON.stringify({ kind: 'TrainingRun', spec });
    expect(runOf(job({ MLFORM_SPEC_JSON: staged }), 1)).not.toHaveProperty('spec');
    expect(runOf(job({ MLFORM_SPEC_JSON: staged, MLFORM_MANIFEST_DATA_URI: '' }), 1).spec).toEqual(spec);
    expect(runOf(job({ MLFORM_SPEC_JSON: 'not json', MLFORM_MANIFEST_DATA_URI: '' }), 1)).not.toHaveProperty(
      'spec',
    );
  });
});
