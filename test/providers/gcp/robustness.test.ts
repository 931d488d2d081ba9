/**
 * Retry policy, pending markers and fallbacks of the gcp provider against the fake: what is
 * retried (429 rate limits, 503, timeouts) and what is not (invalid, not found, capacity), a
 * create whose response was lost after Vertex AI acted, and out-of-capacity fallbacks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { apiCalls } from '../../../providers/gcp/index.js';
import { classifyError } from '../../../providers/gcp/call.js';
import { RATE_LIMIT_MESSAGE, capacityMessage } from '../../fakes/gcp/index.js';
import type { CreateRunRequest } from '../../../providers/provider.js';
import type { TrainingRunSpec } from '../../../resources/training-run.js';
import { harness, waitFor, type Harness } from './helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const spec = (resources: Partial<TrainingRunSpec['resources']> = {}): TrainingRunSpec =>
  ({
    trainer: {
      builtin: {
        task: 'regression',
        data: { uri: 'gs://data/cars.json', target: 'y', features: ['a'], validationSplit: 0.2 },
      },
    },
    resources: { machineType: 'n1-standard-4', spot: false, ...resources },
  }) as unknown as TrainingRunSpec;

const request = (number: number, s = spec()): CreateRunRequest => ({
  name: 'mpg-mlp',
  number,
  spec: s,
  specHash: 'b'.repeat(64),
  attempt: 1,
  manifestPath: 'training.yaml',
  labels: {},
  annotations: { owner: 'ml' },
});

const googleError = (status: string, message: string, code: number) =>
  Object.assign(new Error(JSON.stringify({ error: { code, status, message } })), { code });

describe('error classification', () => {
  it('retries rate limits, unavailability and timeouts; not invalid, not found or capacity', () => {
    const kind = (e: unknown) => classifyError('aiplatform', e);
    expect(kind(googleError('RESOURCE_EXHAUSTED', RATE_LIMIT_MESSAGE, 429))).toMatchObject({
      kind: 'rate-limited',
      retryable: true,
    });
    expect(kind(googleError('RESOURCE_EXHAUSTED', capacityMessage('NVIDIA_L4'), 429))).toMatchObject({
      kind: 'capacity',
      retryable: false,
    });
    expect(kind(googleError('UNAVAILABLE', 'down', 503))).toMatchObject({
      kind: 'unavailable',
      retryable: true,
    });
    expect(kind(googleError('DEADLINE_EXCEEDED', 'slow', 504))).toMatchObject({
      kind: 'timeout',
      retryable: true,
    });
    expect(kind(googleError('INVALID_ARGUMENT', 'bad', 400))).toMatchObject({
      kind: 'invalid',
      retryable: false,
    });
    expect(kind(googleError('FAILED_PRECONDITION', 'no', 400))).toMatchObject({
      kind: 'precondition',
      retryable: false,
    });
    expect(kind(googleError('NOT_FOUND', 'gone', 404))).toMatchObject({
      kind: 'not-found',
      retryable: false,
    });
    expect(kind(googleError('PERMISSION_DENIED', 'no', 403))).toMatchObject({
      kind: 'permission',
      retryable: false,
    });
    expect(kind(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toMatchObject({
      retryable: true,
    });
    // gRPC-coded errors (the gRPC transport) classify the same way.
    expect(kind(Object.assign(new Error('14 UNAVAILABLE: x'), { code: 14 }))).toMatchObject({
      kind: 'unavailable',
    });
    // Cloud Storage errors carry HTTP statuses.
    expect(
      classifyError('storage', Object.assign(new Error('conditionNotMet'), { code: 412 })),
    ).toMatchObject({ kind: 'precondition' });
  });
});

describe('retries against the fake', () => {
  it('retries 429 / 503 / timeout on a list and succeeds', async () => {
    h = await harness();
    for (const kind of ['429', '503', 'timeout'] as const) {
      h.fake.failNext({ kind, rpc: 'ListServices', timeoutMs: 50 });
    }
    apiCalls.reset();
    const listed = await h.provider.deployedEndpoints.list(h.ctx);
    expect(listed.diagnostics).toEqual([]);
    expect(h.fake.count({ rpc: 'ListServices' })).toBe(4);
    expect(apiCalls.snapshot().find((c) => c.rpc === 'ListServices')).toMatchObject({
      calls: 4,
      errors: 3,
      retries: 3,
    });
  });

  it('does not retry a not-found, and says what failed for which resource', async () => {
    h = await harness();
    const r = await h.provider.trainingRuns.cancel(h.ctx, { name: 'nope', number: 1 });
    expect(r.diagnostics[0]).toMatchObject({ code: 'gcp-run-not-found', address: 'TrainingRun/nope' });
    const moved = await h.provider.registeredModels.moveAlias(h.ctx, {
      model: 'mpg',
      alias: 'champion',
      version: 3,
    });
    expect(moved.diagnostics[0].code).toBe('gcp-not-found');
    expect(moved.diagnostics[0].message).toContain('RegisteredModel/mpg: moving alias champion to v3 failed');
    expect(h.fake.count({ rpc: 'MergeVersionAliases' })).toBe(1);
  });

  it('a create whose response is lost after Vertex AI acted does not duplicate the job', async () => {
    h = await harness();
    h.fake.failNext({ kind: '503', rpc: 'CreateCustomJob', afterEffect: true });
    const created = await h.provider.trainingRuns.create(h.ctx, request(1));
    expect(created.diagnostics).toEqual([]);
    expect(created.run).toMatchObject({ name: 'mpg-mlp', number: 1 });
    expect(h.fake.customJobs()).toHaveLength(1);
    // A repeated create (a crash and a new apply) finds it by its labels.
    const again = await h.provider.trainingRuns.create(h.ctx, request(1));
    expect(again.run?.number).toBe(1);
    expect(h.fake.customJobs()).toHaveLength(1);
  });

  it('a fresh pending marker without a job is a create in flight; the marker goes once the job is seen', async () => {
    h = await harness();
    const layout = h.provider.gcp.layout('demo');
    await h.provider.gcp.gcs.write(layout.pending('mpg-mlp', 1), '{}', {
      metadata: {
        createdAt: new Date().toISOString(),
        specHash: 'b'.repeat(64),
        attempt: '1',
        annotations: '{}',
      },
    });
    const listed = await h.provider.trainingRuns.list(h.ctx);
    expect(listed.items).toEqual([expect.objectContaining({ name: 'mpg-mlp', number: 1, state: 'queued' })]);
    const created = await h.provider.trainingRuns.create(h.ctx, request(1));
    expect(created.run?.state).toBe('queued');
    expect(h.fake.count({ rpc: 'CreateCustomJob' })).toBe(0);

    // A stale marker (the creator died before Vertex AI accepted) is failed, and create launches it.
    await h.provider.gcp.gcs.write(layout.pending('mpg-mlp', 1), '{}', {
      metadata: { createdAt: new Date(Date.now() - 3_600_000).toISOString(), specHash: 'b'.repeat(64) },
    });
    const stale = await h.provider.trainingRuns.list(h.ctx);
    expect(stale.items[0]).toMatchObject({ state: 'failed' });
    const launched = await h.provider.trainingRuns.create(h.ctx, request(1));
    expect(launched.diagnostics).toEqual([]);
    expect(h.fake.customJobs()).toHaveLength(1);
    await waitFor(async () => {
      await h?.provider.trainingRuns.list(h.ctx);
      const left = h?.fake.objects('mlform-test').filter((o) => String(o.name).includes('/pending/'));
      return left?.length === 0 ? true : undefined;
    });
  });
  it('under the apply lock, a marker of another (dead) apply is no run: the same number is launched again', async () => {
    h = await harness();
    const layout = h.provider.gcp.layout('demo');
    // A killed apply wrote its marker, then died before CreateCustomJob: the marker is fresh.
    await h.provider.gcp.gcs.write(layout.pending('mpg-mlp', 1), '{}', {
      metadata: { createdAt: new Date().toISOString(), writer: 'another-process', specHash: 'b'.repeat(64) },
    });
    const lock = await h.provider.lock(h.ctx, { holder: 'test', ttlMs: 60_000 });
    expect(lock.lease).toBeDefined();
    // The lease reaches the provider with the context (withApplyLock, controller/engine/apply-lock.ts).
    const locked = { ...h.ctx, applyLock: lock.lease };
    const listed = await h.provider.trainingRuns.list(locked);
    expect(listed.items).toEqual([]);
    const created = await h.provider.trainingRuns.create(locked, request(1));
    expect(created.diagnostics).toEqual([]);
    expect(h.fake.count({ rpc: 'CreateCustomJob' })).toBe(1);
    expect(h.fake.customJobs()).toHaveLength(1);
    await lock.lease?.release();
  });
});

describe('fallbacks', () => {
  it('tries resources.fallbacks in order when the machine has no capacity, and records which ran', async () => {
    h = await harness({ outOfCapacity: ['NVIDIA_L4', 'NVIDIA_TESLA_A100'] });
    const s = spec({
      machineType: 'g2-standard-8',
      accelerator: { type: 'NVIDIA_L4', count: 1 },
      fallbacks: [
        { machineType: 'a2-highgpu-1g', accelerator: { type: 'NVIDIA_TESLA_A100', count: 1 } },
        { machineType: 'n1-standard-8', accelerator: { type: 'NVIDIA_TESLA_T4', count: 1 } },
      ],
    });
    const created = await h.provider.trainingRuns.create(h.ctx, request(1, s));
    expect(created.diagnostics).toEqual([
      expect.objectContaining({ code: 'gcp-fallback-used', severity: 'warning' }),
    ]);
    expect(created.diagnostics[0].message).toContain('fallback 2 (n1-standard-8 + 1x NVIDIA_TESLA_T4)');
    const jobs = h.fake.customJobs();
    expect(jobs).toHaveLength(1);
    expect((jobs[0].labels as Record<string, string>)['mlform-machine']).toBe('fallback-2');
    expect(h.fake.count({ rpc: 'CreateCustomJob' })).toBe(3);
  });

  it('with no fallback left, the capacity error is a diagnostic with a hint, not retried', async () => {
    h = await harness({ outOfCapacity: ['NVIDIA_L4'] });
    const s = spec({ machineType: 'g2-standard-8', accelerator: { type: 'NVIDIA_L4', count: 1 } });
    const created = await h.provider.trainingRuns.create(h.ctx, request(1, s));
    expect(created.diagnostics[0]).toMatchObject({ code: 'gcp-capacity', address: 'TrainingRun/mpg-mlp' });
    expect(created.diagnostics[0].hint).toContain('fallbacks');
    expect(h.fake.count({ rpc: 'CreateCustomJob' })).toBe(1);
    // Nothing was created: no pending marker is left to make the run look in flight.
    expect((await h.provider.trainingRuns.list(h.ctx)).items).toEqual([]);
  });
});

describe('lease', () => {
  it('is exclusive, names the holder, renews and releases by generation, and is taken over once expired', async () => {
    h = await harness();
    const a = await h.provider.lock(h.ctx, { holder: 'alice@laptop', ttlMs: 60_000 });
    expect(a.diagnostics).toEqual([]);
    const b = await h.provider.lock(h.ctx, { holder: 'bob@ci', ttlMs: 60_000 });
    expect(b.lease).toBeUndefined();
    expect(b.diagnostics[0]).toMatchObject({ code: 'lock-held' });
    expect(b.diagnostics[0].message).toMatch(/^apply lock held by alice@laptop \(pid \d+\) until/);
    expect((await a.lease!.renew()).diagnostics).toEqual([]);
    expect((await a.lease!.release()).diagnostics).toEqual([]);

    const short = await h.provider.lock(h.ctx, { holder: 'carol@host', ttlMs: 1 });
    await new Promise((r) => setTimeout(r, 20));
    const taken = await h.provider.lock(h.ctx, { holder: 'dave@host', ttlMs: 60_000 });
    expect(taken.diagnostics).toEqual([]);
    // The expired holder lost it: renew fails on the generation precondition, release leaves it.
    expect((await short.lease!.renew()).diagnostics[0]).toMatchObject({ code: 'lock-lost' });
    expect((await short.lease!.release()).diagnostics[0]).toMatchObject({ code: 'lock-not-ours' });
    expect((await taken.lease!.release()).diagnostics).toEqual([]);
    // The leader lease is a separate object.
    const leader = await h.provider.lock(h.ctx, { name: 'leader', holder: 'ctrl-0', ttlMs: 60_000 });
    const apply = await h.provider.lock(h.ctx, { holder: 'erin', ttlMs: 60_000 });
    expect([leader.diagnostics, apply.diagnostics]).toEqual([[], []]);
  });
});
