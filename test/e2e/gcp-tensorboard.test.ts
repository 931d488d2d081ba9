/**
 * Managed TensorBoard through the CLI against test/fakes/gcp: `apply` of a training with
 * `gcp.tensorboard: {create: true}` creates the stack's instance once and launches the job into
 * it; `describe trainingrun/X` shows the run's TensorBoard page. Needs `dist/` (`npm run build`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeGcp, type FakeGcp } from '../fakes/gcp/index.js';
import { CLI_ENV } from './cli.js';
import { gcpProjectFile } from '../providers/gcp/project-file.js';

let fake: FakeGcp;
let dir: string;

const TRAINING = `apiVersion: mlform/v1
kind: TrainingRun
metadata: {name: mpg-mlp}
spec:
  trainer:
    builtin:
      task: regression
      data: {uri: gs://mlform-test/cars.json, target: y, features: [a]}
  resources: {machineType: n1-standard-4}
`;

function mlform(...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['bin/mlform.js', ...args], {
      env: { ...process.env, ...CLI_ENV, MLFORM_GCP_API_ENDPOINT: fake.url, MLFORM_GCP_RETRY_BASE_MS: '20' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => done({ code, out }));
  });
}

beforeAll(async () => {
  // Jobs end without artifacts (no runContainer): the run fails, which is all describe needs.
  fake = await startFakeGcp({ jobTiming: { queuedMs: 5, pendingMs: 5, runningMs: 5 } });
  dir = await mkdtemp(join(tmpdir(), 'mlform-gcp-tensorboard-'));
  await writeFile(
    join(dir, 'mlform.yaml'),
    `${gcpProjectFile('europe-central2')}  tensorboard: {create: true}\n`,
  );
  await writeFile(join(dir, 'training.yaml'), TRAINING);
});
afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

describe('gcp.tensorboard through the CLI', () => {
  it('plan creates nothing; apply creates the instance and launches into it; describe links the run page', async () => {
    const plan = await mlform('plan', dir);
    expect(plan.out).toContain('TrainingRun/mpg-mlp');
    expect(fake.tensorboards()).toEqual([]);
    expect(fake.count({ rpc: 'ListTensorboards' })).toBe(0);

    const apply = await mlform('apply', '--auto-approve', dir);
    expect(apply.out).toContain('mpg-mlp#1');
    const [board] = fake.tensorboards();
    expect(board).toMatchObject({ displayName: 'mlform-demo_tensorboard' });
    const [job] = fake.customJobs();
    expect(job?.jobSpec).toMatchObject({ tensorboard: board?.name });

    const described = await mlform('describe', 'trainingrun/mpg-mlp', '-f', dir);
    const jobId = String(job?.name).split('/').pop() ?? '';
    const page = `https://europe-central2.tensorboard.googleusercontent.com/experiment/${`${String(board?.name)}/experiments/${jobId}`.replaceAll('/', '+')}`;
    expect(described.out).toMatch(
      new RegExp(`TensorBoard:\\n\\s+RUN\\s+PAGE\\n\\s+#1\\s+${page.replace(/[.+?]/g, '\\$&')}`),
    );
    expect(fake.count({ rpc: 'CreateTensorboard' })).toBe(1);
  });
});
