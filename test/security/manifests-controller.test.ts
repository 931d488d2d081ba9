/**
 * Issue 11, point 3, through `mlform controller` following a real git repository: a pushed commit
 * whose `data.uri` climbs out of the checkout (to a file the controller's host can read) is
 * reported as not loading, without a stack trace, and nothing trains on it.
 * Needs `npm run build` (spawns bin/mlform.js).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
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

const SECRET = 'controller-host-secret-4b1e';
let repo: TestRepo;
let controller: RunningController | undefined;

beforeAll(async () => {
  repo = await createQuickstartRepo('mlform-sec-ctl-');
  // Beside the controller's checkout, readable by the controller, never part of any commit.
  await mkdir(join(repo.root, 'outside'), { recursive: true });
  await writeFile(
    join(repo.root, 'outside', 'secret.csv'),
    `Miles_per_Gallon,Cylinders,Horsepower,Weight_in_lbs,Origin\n${SECRET},4,95,2400,Japan\n`,
  );
});

afterAll(async () => {
  killQuietly(controller?.pid);
  await controller?.exited;
  await rm(repo.root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

it('reports a commit whose data.uri escapes the checkout as not loading, and trains nothing', async () => {
  const training = await repo.read('quickstart/training.yaml');
  // The checkout is <root>/checkout/checkouts/<pid>/; its quickstart/../../../../outside is <root>/outside.
  const escaping = training.replace('file://../data/cars.json', 'file://../../../../outside/secret.csv');
  expect(escaping).not.toBe(training);
  // The first commit of the branch: the quickstart's model and training, the training escaping.
  await rm(join(repo.work, 'quickstart', 'endpoint.yaml'));
  await rm(join(repo.work, 'quickstart', 'schedule.yaml'));
  const bad = await repo.commit('read a file outside the repository', {
    'quickstart/training.yaml': escaping,
  });

  controller = await startController([...followRepoArgs(repo, 'checkout'), '--requeue', '1s']);
  const status = await waitFor(
    'the escaping commit reported in /api/status',
    async () => {
      const s = await getStatus(controller!.url);
      return s.controller.badCommit?.commit === bad ? s : undefined;
    },
    30_000,
  );
  const diagnostics = status.controller.badCommit?.diagnostics ?? [];
  const escape = diagnostics.find((d) => d.code === 'data-outside-tree');
  expect(escape).toMatchObject({
    severity: 'error',
    file: expect.stringMatching(/quickstart\/training\.yaml$/),
    line: 13,
    path: ['spec', 'trainer', 'builtin', 'data', 'uri'],
  });
  expect(escape?.message).toContain(`resolves to ${join(repo.root, 'outside')}, outside the repository`);
  expect(status.controller.appliedCommit).toBeNull();
  const body = JSON.stringify(status);
  expect(body).not.toContain(SECRET);
  expect(body).not.toMatch(/\n\s+at |RangeError|TypeError/);
  expect(status.resources.every((r) => r.lastError === null)).toBe(true);

  // Give the loop a few more passes: it must keep refusing, and no run is ever recorded.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  expect((await getStatus(controller.url)).controller.badCommit?.commit).toBe(bad);
  expect(await runRecords(repo.stateDir, 'mpg-mlp')).toEqual([]);
}, 60_000);
