/**
 * Which Cloud Scheduler jobs `mlform import` can describe as a Schedule with a TrainingRun template
 * (providers/gcp/import-schedules.ts), and whose an adopted job is (ownerOfJob): the claim of its
 * description counts under the id it records as `adopted`, not under any other.
 */
import { describe, expect, it } from 'vitest';
import { settingsFrom } from '../../../providers/gcp/context.js';
import { templateOfJob, unmanagedJobs } from '../../../providers/gcp/import-schedules.js';
import { ownerOfJob, scheduleDescription, type SchedulerJob } from '../../../providers/gcp/schedules.js';
import type { ScheduleSpec } from '../../../resources/schedule.js';
import { CONFIG } from './helpers.js';

const settings = settingsFrom(CONFIG);
const PARENT = 'projects/demo-proj/locations/europe-west4';
const CUSTOM_JOBS = `https://europe-west4-aiplatform.googleapis.com/v1/${PARENT}/customJobs`;

const pool = (over: Record<string, unknown> = {}) => ({
  replicaCount: 1,
  machineSpec: { machineType: 'g2-standard-8', acceleratorType: 'NVIDIA_L4', acceleratorCount: 1 },
  containerSpec: {
    imageUri: 'eu.gcr.io/acme/train:2',
    command: ['python', 'train.py'],
    env: [
      { name: 'LR', value: '0.01' },
      { name: 'MLFORM_SPEC_HASH', value: 'x' },
      { name: 'GH_TOKEN', value: 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB' },
    ],
  },
  ...over,
});

const job = (body: unknown, over: Partial<SchedulerJob> = {}): SchedulerJob => ({
  name: `${PARENT}/jobs/retrain`,
  schedule: '0 4 * * 1',
  timeZone: 'Europe/Amsterdam',
  state: 'ENABLED',
  httpTarget: { uri: CUSTOM_JOBS, httpMethod: 'POST', body: Buffer.from(JSON.stringify(body)) },
  ...over,
});

describe('templateOfJob', () => {
  it('maps a container CustomJob to a TrainingRun template: image, command, env, machine, GPU, Spot', () => {
    const mapped = templateOfJob(
      job({
        jobSpec: {
          workerPoolSpecs: [pool()],
          scheduling: { strategy: 'SPOT' },
          baseOutputDirectory: { outputUriPrefix: 'gs://acme/out' },
        },
      }),
      settings,
    );
    expect(mapped).toEqual({
      spec: {
        trainer: {
          container: {
            image: 'eu.gcr.io/acme/train:2',
            command: ['python', 'train.py'],
            env: { LR: '0.01' },
          },
        },
        resources: { machineType: 'g2-standard-8', accelerator: { type: 'NVIDIA_L4', count: 1 }, spot: true },
      },
      notes: [
        'its variable MLFORM_SPEC_HASH: mlform sets it on the jobs it writes',
        'its variable GH_TOKEN, which looks like a credential: add it as GH_TOKEN: {secretRef: {name, key}}',
        "its output directory gs://acme/out: the jobs mlform writes use the stack's bucket",
      ],
    });
  });

  it.each([
    ['a Pub/Sub target', { httpTarget: null, pubsubTarget: { topicName: 't' } }, {}, /publishes to Pub\/Sub/],
    [
      'another region',
      { httpTarget: { uri: CUSTOM_JOBS.replaceAll('europe-west4', 'us-east1'), body: Buffer.from('{}') } },
      {},
      /calls https:\/\/us-east1-aiplatform.*POSTs a CustomJob to https:\/\/europe-west4-aiplatform/,
    ],
    [
      'a tuning job',
      { httpTarget: { uri: CUSTOM_JOBS.replace('customJobs', 'hyperparameterTuningJobs') } },
      {},
      /hyperparameter tuning job/,
    ],
    ['two worker pools', {}, { jobSpec: { workerPoolSpecs: [pool(), pool()] } }, /2 worker pools/],
    ['several replicas', {}, { jobSpec: { workerPoolSpecs: [pool({ replicaCount: 4 })] } }, /4 replicas/],
    [
      'a Python package',
      {},
      { jobSpec: { workerPoolSpecs: [pool({ containerSpec: undefined, pythonPackageSpec: {} })] } },
      /Python package/,
    ],
  ])('lists a job with %s with the reason, without a template', (_what, over, body, reason) => {
    const mapped = templateOfJob(job(body, over as Partial<SchedulerJob>), settings);
    expect('reason' in mapped && mapped.reason).toMatch(reason);
  });

  it('a schedule that is not a 5-field cron (App Engine syntax) is not adoptable', () => {
    const [u] = unmanagedJobs(
      [job({ jobSpec: { workerPoolSpecs: [pool()] } }, { schedule: 'every 5 minutes', state: 'PAUSED' })],
      settings,
      'demo',
    );
    expect(u?.schedule).toMatchObject({
      paused: true,
      unsupported: 'its schedule "every 5 minutes" is not a 5-field cron expression',
    });
    expect(u?.schedule?.template).toBeUndefined();
  });
});

describe('ownerOfJob of an adopted job', () => {
  const spec = { trainingRun: 'retrain', cron: '0 4 * * 1', timeZone: 'Europe/Amsterdam' } as ScheduleSpec;
  const described = (id: string, adopted?: string): SchedulerJob => ({
    name: `${PARENT}/jobs/${id}`,
    description: scheduleDescription('demo', 'retrain', 'abc', spec, {}, adopted),
  });

  it('counts the claim under the id the description records, and under no other', () => {
    expect(ownerOfJob(described('nightly', 'nightly'))).toEqual({
      stack: 'demo',
      kind: 'schedule',
      name: 'retrain',
    });
    expect(ownerOfJob(described('copy', 'nightly'))).toBeUndefined();
    expect(ownerOfJob(described('nightly'))).toBeUndefined();
    // The derived name needs no record.
    expect(ownerOfJob(described('mlform-demo_retrain'))).toEqual({
      stack: 'demo',
      kind: 'schedule',
      name: 'retrain',
    });
  });

  it('an adopted job is not listed as unmanaged by its own stack; another stack sees its owner', () => {
    const adopted = described('nightly', 'nightly');
    expect(unmanagedJobs([adopted], settings, 'demo')).toEqual([]);
    expect(unmanagedJobs([adopted], settings, 'other')).toEqual([
      {
        kind: 'Schedule',
        id: `${PARENT}/jobs/nightly`,
        name: 'nightly',
        owner: { stack: 'demo', kind: 'schedule', name: 'retrain' },
        notes: [],
      },
    ]);
  });
});
