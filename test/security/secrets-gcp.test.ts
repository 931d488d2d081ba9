/**
 * Point 9 of issue 11 on `provider: gcp`, through the CLI against test/fakes/gcp: a missing
 * Secret Manager secret fails the plan at the manifest line (one ListSecrets call), and the
 * CustomJob sent to Vertex AI carries the reference, never the value.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGcp, type FakeGcp } from '../fakes/gcp/index.js';

const REPO = resolve('.');
const SECRET_VALUE = 'hf-secret-in-secret-manager-93f1';

let root: string;
let project: string;
let fake: FakeGcp;

function mlform(...args: string[]): Promise<{ code: number | null; out: string }> {
  return mlformWith({}, ...args);
}

function mlformWith(
  extra: Record<string, string>,
  ...args: string[]
): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/mlform.js'), ...args], {
      cwd: root,
      env: {
        ...process.env,
        NO_COLOR: '1',
        FORCE_COLOR: undefined,
        CI: 'true',
        MLFORM_GCP_API_ENDPOINT: fake.url,
        MLFORM_GCP_RETRY_BASE_MS: '20',
        ...extra,
      },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => done({ code, out }));
  });
}

const manifest = [
  'apiVersion: mlform/v1',
  'kind: TrainingRun',
  'metadata:',
  '  name: custom',
  'spec:',
  '  trainer:',
  '    container:',
  '      image: europe-docker.pkg.dev/demo-proj/ml/train:1',
  '      env:',
  '        MODE: fast',
  '        HF_TOKEN:',
  '          secretRef: {name: huggingface, key: token}',
  '',
].join('\n');

beforeAll(async () => {
  fake = await startFakeGcp({ jobTiming: { queuedMs: 10, pendingMs: 10, runningMs: 10 } });
  root = await mkdtemp(join(tmpdir(), 'mlform-sec-gcp-secrets-'));
  project = join(root, 'project');
  await mkdir(project);
  await writeFile(
    join(project, 'mlform.yaml'),
    [
      'stack: sec',
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
  await writeFile(join(project, 'run.yaml'), manifest);
});

afterAll(async () => {
  await fake?.close();
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

describe('secretRef on gcp', () => {
  it('a missing secret fails the plan at the manifest line, with one ListSecrets call', async () => {
    fake.seed.secret('demo-proj', 'unrelated_key', 'x');
    fake.resetRequests();
    const r = await mlform('plan', project);
    expect(r.code).toBe(1);
    const line = manifest.split('\n').findIndex((l) => l.includes('HF_TOKEN:')) + 1;
    expect(r.out).toMatch(
      new RegExp(
        `run\\.yaml:${line}:\\d+ error \\[gcp-secret-missing\\] spec\\.trainer\\.container\\.env\\.HF_TOKEN: secret huggingface_token does not exist in project demo-proj`,
      ),
    );
    expect(fake.count({ api: 'secretmanager', rpc: 'ListSecrets' })).toBe(1);
    expect(fake.count({ api: 'secretmanager' })).toBe(1);
    expect(fake.count({ rpc: 'CreateCustomJob' })).toBe(0);
  });

  it('with the secret, apply sends the reference in MLFORM_SECRET_REFS and never the value', async () => {
    fake.seed.secret('demo-proj', 'huggingface_token', SECRET_VALUE);
    const apply = await mlform('apply', project, '-y', '--no-wait');
    expect(apply.code).toBe(0);
    const jobs = fake.customJobs();
    expect(jobs).toHaveLength(1);
    const spec = (
      jobs[0] as {
        jobSpec: { workerPoolSpecs: { containerSpec: { env: { name: string; value: string }[] } }[] };
      }
    ).jobSpec.workerPoolSpecs[0]?.containerSpec;
    const env = Object.fromEntries((spec?.env ?? []).map((e) => [e.name, e.value]));
    expect(env.MODE).toBe('fast');
    expect(env.HF_TOKEN).toBeUndefined();
    expect(JSON.parse(env.MLFORM_SECRET_REFS ?? '{}')).toEqual({
      HF_TOKEN: 'projects/demo-proj/secrets/huggingface_token/versions/latest',
    });
    // Nothing mlform sent or printed holds the value: not the job, not the CLI's output.
    expect(JSON.stringify(jobs)).not.toContain(SECRET_VALUE);
    for (const r of [apply, await mlform('describe', 'trainingrun/custom', '-f', project)]) {
      expect(r.out).not.toContain(SECRET_VALUE);
    }
    // mlform itself never reads a secret's value.
    expect(fake.count({ api: 'secretmanager', rpc: 'AccessSecretVersion' })).toBe(0);
  });

  it('mlform train (the trainer entrypoint) resolves MLFORM_SECRET_REFS first, and stops on a missing secret', async () => {
    fake.resetRequests();
    const refs = (secret: string) => ({
      MLFORM_SECRET_REFS: JSON.stringify({
        HF_TOKEN: `projects/demo-proj/secrets/${secret}/versions/latest`,
      }),
    });
    const missing = await mlformWith(
      refs('nope_token'),
      'train',
      '--spec-json',
      '{}',
      '--out',
      join(root, 'out'),
    );
    expect(missing.code).toBe(1);
    expect(missing.out).toContain(
      'mlform train: cannot read secret projects/demo-proj/secrets/nope_token/versions/latest for HF_TOKEN',
    );
    // With the secret, resolution passes and the trainer goes on to its own checks (this spec is empty).
    const present = await mlformWith(
      refs('huggingface_token'),
      'train',
      '--spec-json',
      '{}',
      '--out',
      join(root, 'out'),
    );
    expect(present.code).toBe(1);
    expect(present.out).not.toContain('cannot read secret');
    expect(present.out).not.toContain(SECRET_VALUE);
    expect(fake.count({ api: 'secretmanager', rpc: 'AccessSecretVersion' })).toBe(2);
  });
});
