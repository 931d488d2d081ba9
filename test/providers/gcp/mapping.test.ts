/**
 * What the gcp provider sends: the CustomJob, the Cloud Run service and the Cloud Scheduler job
 * bodies (the fake also checks each request body against the SDK protos), and how listed objects
 * read back (run numbering, traffic by revision, live settings without drift).
 */
import { describe, expect, it } from 'vitest';
import type { TrainingRunSpec } from '../../../resources/training-run.js';
import type { DeployedEndpointSpec } from '../../../resources/deployed-endpoint.js';
import { settingsFrom, layoutFor, type Gcp } from '../../../providers/gcp/context.js';
import { assignNumbers, customJobBody, runOf, type CustomJob } from '../../../providers/gcp/jobs.js';
import {
  endpointOf,
  revisionTemplate,
  serviceBody,
  versionOfRevision,
} from '../../../providers/gcp/endpoints.js';
import { scheduleOf } from '../../../providers/gcp/schedules.js';
import { modelId } from '../../../providers/gcp/names.js';
import { createCaller } from '../../../providers/gcp/call.js';
import { CONFIG } from './helpers.js';

const settings = settingsFrom(CONFIG);
const layout = layoutFor(settings)('quickstart');

const spec = {
  trainer: {
    builtin: {
      task: 'regression',
      data: {
        uri: 'gs://mlform-test/state/quickstart/data/abc/cars.json',
        target: 'y',
        features: ['a'],
        validationSplit: 0.2,
      },
    },
  },
  resources: {
    machineType: 'g2-standard-8',
    accelerator: { type: 'NVIDIA_L4', count: 1 },
    spot: true,
    fallbacks: [{ machineType: 'n1-standard-8', accelerator: { type: 'NVIDIA_TESLA_T4', count: 1 } }],
  },
} as unknown as TrainingRunSpec;

describe('CustomJob body', () => {
  const input = {
    stack: 'quickstart',
    name: 'mpg-mlp',
    number: 3,
    spec,
    specHash: 'c'.repeat(64),
    attempt: 2,
    labels: { Team: 'Demo Team' },
    annotations: { 'mlform/prevent-destroy': 'true' },
  };

  it('one worker pool from spec.resources, the trainer image, the spec in MLFORM_SPEC_JSON, --out the run dir', () => {
    const body = customJobBody(settings, layout, input);
    expect(body.displayName).toBe('mlform-quickstart_mpg-mlp-3');
    expect(body.labels).toEqual({
      team: 'demo_team',
      'mlform-stack': 'quickstart',
      'mlform-kind': 'trainingrun',
      'mlform-name': 'mpg-mlp',
      'mlform-spec': 'cccccccccccc',
      'mlform-run': '3',
      'mlform-attempt': '2',
      'mlform-machine': 'primary',
    });
    const pool = body.jobSpec?.workerPoolSpecs?.[0];
    expect(pool?.machineSpec).toEqual({
      machineType: 'g2-standard-8',
      acceleratorType: 'NVIDIA_L4',
      acceleratorCount: 1,
    });
    expect(pool?.replicaCount).toBe(1);
    expect(pool?.containerSpec?.imageUri).toBe(CONFIG.trainerImage);
    expect(pool?.containerSpec?.args).toEqual([
      '--out',
      'gs://mlform-test/state/quickstart/runs/mpg-mlp/3',
      '--json',
    ]);
    const env = Object.fromEntries((pool?.containerSpec?.env ?? []).map((e) => [e.name, e.value]));
    expect(JSON.parse(env.MLFORM_SPEC_JSON ?? '')).toEqual({
      apiVersion: 'mlform/v1',
      kind: 'TrainingRun',
      metadata: { name: 'mpg-mlp' },
      spec,
    });
    expect(env.MLFORM_SPEC_HASH).toBe('c'.repeat(64));
    expect(body.jobSpec?.scheduling).toEqual({ strategy: 'SPOT' });
    expect(body.jobSpec?.serviceAccount).toBe(CONFIG.serviceAccount);
    expect(body.jobSpec?.baseOutputDirectory?.outputUriPrefix).toBe(
      'gs://mlform-test/state/quickstart/runs/mpg-mlp/3',
    );
  });

  it('a fallback changes only the machine and the mlform-machine label', () => {
    const body = customJobBody(settings, layout, input, 1);
    expect(body.jobSpec?.workerPoolSpecs?.[0]?.machineSpec).toEqual({
      machineType: 'n1-standard-8',
      acceleratorType: 'NVIDIA_TESLA_T4',
      acceleratorCount: 1,
    });
    expect(body.labels?.['mlform-machine']).toBe('fallback-1');
  });

  it('reads back: state, number, spec hash, attempt, artifact, annotations', () => {
    const job: CustomJob = {
      ...customJobBody(settings, layout, input),
      name: 'projects/demo-proj/locations/europe-west4/customJobs/123',
      state: 'JOB_STATE_FAILED',
      error: { code: 14, message: 'preempted' },
      createTime: { seconds: 1_700_000_000 },
      endTime: { seconds: 1_700_000_100 },
    };
    expect(runOf(job, 3)).toEqual({
      name: 'mpg-mlp',
      number: 3,
      specHash: 'c'.repeat(64),
      state: 'failed',
      attempt: 2,
      createdAt: '2023-11-14T22:13:20.000Z',
      finishedAt: '2023-11-14T22:15:00.000Z',
      artifactUri: 'gs://mlform-test/state/quickstart/runs/mpg-mlp/3',
      error: 'preempted',
      annotations: { 'mlform/prevent-destroy': 'true' },
    });
  });

  it('numbers scheduled runs (no mlform-run label) by creation time after the labelled ones', () => {
    const job = (id: string, seconds: number, run?: number): CustomJob => ({
      name: `x/customJobs/${id}`,
      createTime: { seconds },
      labels: { 'mlform-name': 'mpg-mlp', ...(run !== undefined && { 'mlform-run': String(run) }) },
    });
    const jobs = [job('a', 10, 1), job('s1', 20), job('b', 30, 3), job('s2', 40), job('c', 15, 2)];
    const numbers = assignNumbers(jobs);
    expect(jobs.map((j) => numbers.get(j))).toEqual([1, 4, 3, 5, 2]);
  });
});

describe('Cloud Run service body', () => {
  const gcp = { settings, call: createCaller(), layout: layoutFor(settings) } as unknown as Gcp;
  const endpointSpec = {
    model: 'mpg',
    traffic: [{ version: 'champion', percent: 100 }],
    preset: 'development',
    scaling: { minInstances: 0, maxInstances: 2 },
    resources: { memory: '2Gi', cpu: '1' },
    batching: { enabled: true, maxBatchSize: 64, batchTimeoutMicros: 2000 },
    timeoutSeconds: 300,
  } as DeployedEndpointSpec;
  const req = { name: 'mpg-api', spec: endpointSpec, specHash: 'd'.repeat(64), labels: {}, annotations: {} };

  it('one revision per version, MODEL_URI, resources, scaling, batching args, traffic by revision', () => {
    const template = {
      ...revisionTemplate(gcp, 'quickstart', req, 2, 'gs://b/runs/mpg-mlp/2'),
      revision: 'mpg-api-v2',
    };
    const body = serviceBody(gcp, 'quickstart', req, template, [
      { revision: 'mpg-api-v1', percent: 90 },
      { revision: 'mpg-api-v2', percent: 10 },
    ]);
    expect(body.traffic).toEqual([
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'mpg-api-v1', percent: 90 },
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'mpg-api-v2', percent: 10 },
    ]);
    const c = body.template?.containers?.[0];
    expect(c?.image).toBe(CONFIG.servingImage);
    expect(c?.env).toEqual([
      { name: 'MODEL_URI', value: 'gs://b/runs/mpg-mlp/2' },
      { name: 'MODEL_NAME', value: 'mpg' },
    ]);
    expect(c?.args).toEqual(['--max-batch-size', '64', '--batch-timeout-micros', '2000']);
    expect(c?.resources?.limits).toEqual({ cpu: '1', memory: '2Gi' });
    expect(body.template?.scaling).toEqual({ minInstanceCount: 0, maxInstanceCount: 2 });
    expect(body.template?.labels?.['mlform-version']).toBe('2');
    expect(body.annotations?.['mlform/spec-hash']).toBe('d'.repeat(64));

    // Read back as the list sees it: traffic per version, live settings equal to the spec (no drift).
    const observed = endpointOf({
      ...body,
      name: 'projects/demo-proj/locations/europe-west4/services/mpg-api',
      uri: 'https://mpg-api-xyz.a.run.app',
      terminalCondition: { type: 'Ready', state: 'CONDITION_SUCCEEDED' },
      trafficStatuses: body.traffic,
    }).endpoint;
    expect(observed?.traffic).toEqual([
      { version: 1, percent: 90 },
      { version: 2, percent: 10 },
    ]);
    expect(observed?.healthy).toBe(true);
    expect(observed?.live).toEqual({
      scaling: endpointSpec.scaling,
      resources: endpointSpec.resources,
      batching: endpointSpec.batching,
      timeoutSeconds: 300,
    });
  });

  it('revision names map back to versions, config-suffixed ones too', () => {
    expect(
      versionOfRevision('mpg-api', 'projects/p/locations/r/services/mpg-api/revisions/mpg-api-v12'),
    ).toBe(12);
    expect(versionOfRevision('mpg-api', 'mpg-api-v3-a1b2c3')).toBe(3);
    expect(versionOfRevision('mpg-api', 'mpg-api-00001-abc')).toBeUndefined();
  });
});

describe('names', () => {
  it('model ids fit Vertex AI (<= 63, [a-z0-9_-], a letter first) deterministically', () => {
    expect(modelId('quickstart', 'mpg')).toBe('mlform-quickstart_mpg');
    const long = modelId('a-twenty-char-stack1', 'x'.repeat(49));
    expect(long).toHaveLength(63);
    expect(long).toMatch(/^mlform-a-twenty-char-stack1_x+-[0-9a-f]{8}$/);
    expect(modelId('a-twenty-char-stack1', 'x'.repeat(49))).toBe(long);
    expect(modelId('a-twenty-char-stack1', `${'x'.repeat(48)}y`)).not.toBe(long);
  });
});

describe('Cloud Scheduler job', () => {
  it('reads back the spec hash, spec and pause state from a label-less job', () => {
    const observed = scheduleOf(
      {
        name: 'projects/p/locations/r/jobs/mlform-quickstart_mpg-weekly',
        description: `mlform spec ${'e'.repeat(64)} ${JSON.stringify({ s: { trainingRun: 'mpg-mlp', cron: '0 6 * * 1' }, a: {} })}`,
        state: 'PAUSED',
        lastAttemptTime: { seconds: 1_700_000_000 },
      },
      'mpg-weekly',
    ).schedule;
    expect(observed).toMatchObject({
      name: 'mpg-weekly',
      specHash: 'e'.repeat(64),
      paused: true,
      lastFireTime: '2023-11-14T22:13:20.000Z',
    });
  });
});
