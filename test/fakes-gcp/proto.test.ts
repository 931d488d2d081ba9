import { describe, expect, it } from 'vitest';
import { ApiError } from '../fakes/gcp/http.js';
import { checkMessage } from '../fakes/gcp/proto.js';

const strict = { strict: true };
const check = (value: unknown, type = 'google.cloud.aiplatform.v1.CustomJob', root = 'custom_job') =>
  checkMessage('aiplatform', type, value, root, strict);
const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return `${e.status}: ${e.message}`;
    throw e;
  }
  return 'no error';
};

describe('proto body checking', () => {
  it('accepts a valid body and normalises enum numbers to names', () => {
    const out = check({
      displayName: 'x',
      labels: { a: 'b' },
      jobSpec: {
        workerPoolSpecs: [
          {
            machineSpec: { machineType: 'n1', acceleratorType: 11, acceleratorCount: 1 },
            replicaCount: '1',
            containerSpec: { imageUri: 'i', env: [{ name: 'A', value: 'b' }] },
          },
        ],
        scheduling: { strategy: 'SPOT', timeout: '3600s', restartJobOnWorkerRestart: false },
        baseOutputDirectory: { outputUriPrefix: 'gs://b/p' },
      },
    });
    const pool = (out.jobSpec as { workerPoolSpecs: { machineSpec: { acceleratorType: string } }[] })
      .workerPoolSpecs[0];
    expect(pool?.machineSpec.acceleratorType).toBe('NVIDIA_L4');
  });

  it('accepts snake_case names too', () => {
    expect(messageOf(() => check({ display_name: 'x', job_spec: { worker_pool_specs: [] } }))).toBe(
      'no error',
    );
  });

  it('rejects unknown names with their path', () => {
    expect(messageOf(() => check({ displayName: 'x', fooBar: 1 }))).toBe(
      `INVALID_ARGUMENT: Invalid JSON payload received. Unknown name "fooBar" at 'custom_job': Cannot find field.`,
    );
    expect(
      messageOf(() => check({ jobSpec: { workerPoolSpecs: [{}, { containerSpec: { imageURI: 'x' } }] } })),
    ).toBe(
      `INVALID_ARGUMENT: Invalid JSON payload received. Unknown name "imageURI" at 'custom_job.job_spec.worker_pool_specs[1].container_spec': Cannot find field.`,
    );
    expect(
      messageOf(() =>
        checkMessage(
          'aiplatform',
          'google.cloud.aiplatform.v1.UploadModelRequest',
          { modle: {} },
          '',
          strict,
        ),
      ),
    ).toBe(`INVALID_ARGUMENT: Invalid JSON payload received. Unknown name "modle": Cannot find field.`);
  });

  it('rejects wrong kinds and unknown enum values', () => {
    expect(messageOf(() => check({ displayName: 123 }))).toBe(
      `INVALID_ARGUMENT: Invalid value at 'custom_job.display_name' (TYPE_STRING), 123`,
    );
    expect(messageOf(() => check({ jobSpec: { scheduling: { strategy: 'CHEAP' } } }))).toBe(
      `INVALID_ARGUMENT: Invalid value at 'custom_job.job_spec.scheduling.strategy' (type.googleapis.com/google.cloud.aiplatform.v1.Scheduling.Strategy), "CHEAP"`,
    );
    expect(messageOf(() => check({ jobSpec: { scheduling: { timeout: 3600 } } }))).toContain(
      'google.protobuf.Duration',
    );
    expect(messageOf(() => check({ labels: { a: 1 } }))).toContain(`'custom_job.labels[a]'`);
    expect(messageOf(() => check({ jobSpec: { workerPoolSpecs: { machineSpec: {} } } }))).toContain(
      'worker_pool_specs',
    );
    expect(messageOf(() => check({ jobSpec: { workerPoolSpecs: [{ replicaCount: 'one' }] } }))).toContain(
      'TYPE_INT64',
    );
  });

  it('rejects two members of a oneof', () => {
    expect(
      messageOf(() =>
        check({ jobSpec: { workerPoolSpecs: [{ containerSpec: {}, pythonPackageSpec: {} }] } }),
      ),
    ).toContain('Oneof');
  });

  it('checks Cloud Run and Scheduler bodies', () => {
    expect(
      messageOf(() =>
        checkMessage(
          'run',
          'google.cloud.run.v2.Service',
          { template: { containers: [{ image: 'x', ports: [{ containerPort: 8080 }] }], scalling: {} } },
          'service',
          strict,
        ),
      ),
    ).toBe(
      `INVALID_ARGUMENT: Invalid JSON payload received. Unknown name "scalling" at 'service.template': Cannot find field.`,
    );
    expect(
      messageOf(() =>
        checkMessage(
          'scheduler',
          'google.cloud.scheduler.v1.Job',
          { httpTarget: { uri: 'u', httpMethod: 'YEET', body: 'e30=' } },
          'job',
          strict,
        ),
      ),
    ).toContain('HttpMethod');
  });

  it('is lenient when not strict', () => {
    expect(
      checkMessage(
        'aiplatform',
        'google.cloud.aiplatform.v1.CustomJob',
        { fooBar: 1, displayName: 2 },
        'custom_job',
        { strict: false },
      ),
    ).toEqual({
      fooBar: 1,
      displayName: 2,
    });
  });
});
