/**
 * Managed TensorBoard through the CLI against test/fakes/gcp: `apply` of a training with
 * `gcp.tensorboard: {create: true}` creates the stack's instance once and launches the job into
 * it; the real trainer (run by the fake as Vertex would) puts its event files in
 * AIP_TENSORBOARD_LOG_DIR, where Vertex streams them from; `describe trainingrun/X` shows the
 * run's TensorBoard page. Needs `dist/` (`npm run build`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeGcp } from '../fakes/gcp/index.js';
import { mlformOn, startFakeWithTrainer } from './gcp-cli.js';
import { cpuTrainingManifest, gcpProjectFile } from '../providers/gcp/project-file.js';
import { waitFor } from '../providers/gcp/helpers.js';

let fake: FakeGcp;
let dir: string;

const mlform = (...args: string[]) => mlformOn(fake)(...args);

beforeAll(async () => {
  fake = await startFakeWithTrainer();
  fake.seed.object('mlform-test', 'cars.json', await readFile('examples/data/cars.json'));
  dir = await mkdtemp(join(tmpdir(), 'mlform-gcp-tensorboard-'));
  await writeFile(
    join(dir, 'mlform.yaml'),
    `${gcpProjectFile('europe-central2')}  tensorboard: {create: true}\n`,
  );
  await writeFile(join(dir, 'training.yaml'), cpuTrainingManifest('gs://mlform-test/cars.json'));
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

    // The builtin trainer's event files land where Vertex streams them from (AIP_TENSORBOARD_LOG_DIR).
    const objects = async () => fake.objects('mlform-test').map((o) => String(o.name));
    const events = await waitFor(async () => {
      const found = (await objects()).filter((n) => n.startsWith('state/demo/runs/mpg-mlp/1/logs/'));
      return found.length > 0 ? found : undefined;
    });
    expect(events).toEqual([
      expect.stringMatching(/^state\/demo\/runs\/mpg-mlp\/1\/logs\/events\.out\.tfevents\./),
    ]);
    expect((await objects()).filter((n) => n.startsWith('state/demo/runs/mpg-mlp/1/tensorboard/'))).toEqual([
      events[0]?.replace('/logs/', '/tensorboard/'),
    ]);

    const described = await mlform('describe', 'trainingrun/mpg-mlp', '-f', dir);
    const jobId = String(job?.name).split('/').pop() ?? '';
    const page = `https://europe-central2.tensorboard.googleusercontent.com/experiment/${`${String(board?.name)}/experiments/${jobId}`.replaceAll('/', '+')}`;
    expect(described.out).toMatch(
      new RegExp(`TensorBoard:\\n\\s+RUN\\s+PAGE\\n\\s+#1\\s+${page.replace(/[.+?]/g, '\\$&')}`),
    );
    expect(fake.count({ rpc: 'CreateTensorboard' })).toBe(1);
  });
});
