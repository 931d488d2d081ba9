/**
 * Attack (issue 11, point 13) through the controller following a real git repository: a commit
 * asks for 8 GPUs where the operator's policy allows 4. The commit is reported as not loading in
 * `/api/status`, at the manifest's line:col and naming the rule, and the last good state is kept:
 * nothing is trained. A controller asked to `--prune` under a policy that forbids it refuses to
 * start. On b5d9ab0 the commit was applied (the run created) and --prune accepted.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createQuickstartRepo,
  followRepoArgs,
  getStatus,
  killQuietly,
  runRecords,
  startController,
  waitFor,
  type RunningController,
  type TestRepo,
} from '../controller/helpers.js';

let repo: TestRepo;
let policyFile: string;
let controller: RunningController | undefined;

const TRAINING = `apiVersion: mlform/v1
kind: TrainingRun
metadata:
  name: mpg-mlp
spec:
  model: mpg
  trainer:
    builtin:
      task: regression
      data:
        uri: file://../data/cars.json
        target: Miles_per_Gallon
        features: [Cylinders, Horsepower]
      network: { type: mlp, layers: [8] }
      hyperparameters: { epochs: 1 }
  resources:
    machineType: g2-standard-8
    accelerator:
      type: NVIDIA_L4
      count: 8
`;

const args = (name: string, extra: string[] = []) => [
  ...followRepoArgs(repo, `checkout-${name}`),
  '--poll',
  '1s',
  '--requeue',
  '1s',
  '--policy',
  policyFile,
  ...extra,
];

beforeAll(async () => {
  repo = await createQuickstartRepo('mlform-policy-ctl-');
  // Only the model: the good state converges without a training.
  for (const file of ['training.yaml', 'schedule.yaml', 'endpoint.yaml']) {
    await rm(join(repo.work, 'quickstart', file));
  }
  await mkdir(join(repo.root, 'operator'));
  policyFile = join(repo.root, 'operator', 'policy.yaml');
  await writeFile(policyFile, 'maxGpusPerRun: 4\nallowPrune: false\n');
});

afterAll(async () => {
  if (controller) killQuietly(controller.pid);
  await controller?.exited;
  await rm(repo.root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

describe('the controller under an operator policy', () => {
  it('a commit asking for 8 GPUs does not load; the last good state is kept and nothing trains', async () => {
    const good = await repo.commit('the model', {});
    controller = await startController(args('a'));
    const url = controller.url;
    await waitFor(
      'the good commit applied',
      async () => {
        const s = await getStatus(url);
        return s.controller.appliedCommit === good &&
          s.resources.some((r) => r.address === 'RegisteredModel/mpg' && r.syncStatus === 'Synced')
          ? s
          : undefined;
      },
      60_000,
    );

    const bad = await repo.commit('8 GPUs', { 'quickstart/training.yaml': TRAINING });
    const status = await waitFor(
      'the bad commit in /api/status',
      async () => {
        const s = await getStatus(url);
        return s.controller.badCommit?.commit === bad ? s : undefined;
      },
      60_000,
    );
    const diagnostics = status.controller.badCommit?.diagnostics ?? [];
    expect(diagnostics).toEqual([
      expect.objectContaining({
        code: 'policy',
        message: `policy: accelerator count 8 exceeds maxGpusPerRun 4 (policy ${policyFile})`,
        file: expect.stringMatching(/quickstart\/training\.yaml$/),
        line: 20,
        col: 14,
        path: ['spec', 'resources', 'accelerator', 'count'],
      }),
    ]);
    expect(status.controller.appliedCommit).toBe(good);
    expect(status.resources.map((r) => r.address)).not.toContain('TrainingRun/mpg-mlp');
    // Give a wrongly accepted commit time to start its run, then check none was created.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await runRecords(repo.stateDir, 'mpg-mlp')).toEqual([]);
  }, 120_000);

  it('--prune is refused at start when the policy forbids prune', async () => {
    await expect(startController(args('b', ['--prune']))).rejects.toThrow(
      /--prune is not allowed \(allowPrune: false\)/,
    );
  }, 30_000);
});
