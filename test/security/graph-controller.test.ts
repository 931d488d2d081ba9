/**
 * Issue 18, item 4, through `mlform controller` following a real git repository: a pushed commit
 * with a 20,000-document `dependsOn` chain is reported as a bad commit (positioned diagnostics, no
 * `RangeError`), and the last good commit keeps being reconciled: a model removed from the state
 * behind the controller's back is created again while the bad commit is the newest.
 * Needs `npm run build` (spawns bin/mlform.js).
 */
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createQuickstartRepo,
  followRepoArgs,
  getStatus,
  killQuietly,
  startController,
  waitFor,
  type RunningController,
  type TestRepo,
} from '../controller/helpers.js';
import { chain } from './graph-fixtures.js';

let repo: TestRepo;
let controller: RunningController | undefined;

beforeAll(async () => {
  repo = await createQuickstartRepo('mlform-sec-graph-');
});

afterAll(async () => {
  killQuietly(controller?.pid);
  await controller?.exited;
  await rm(repo.root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

const modelRecorded = async () =>
  (await stat(join(repo.stateDir, 'registry', 'mpg')).catch(() => undefined)) !== undefined;

it('reports a 20,000-long dependsOn chain as a bad commit and keeps reconciling the last good one', async () => {
  // The good commit: the quickstart's model only (no training, nothing to wait for).
  for (const file of ['training.yaml', 'endpoint.yaml', 'schedule.yaml']) {
    await rm(join(repo.work, 'quickstart', file));
  }
  const good = await repo.commit('the model', {});

  controller = await startController([
    ...followRepoArgs(repo, 'checkout'),
    '--poll',
    '1s',
    '--requeue',
    '1s',
    '--resync',
    '1s',
  ]);
  const url = controller.url;
  await waitFor(
    'the good commit applied',
    async () => (await getStatus(url)).controller.appliedCommit === good && (await modelRecorded()),
    30_000,
  );

  const bad = await repo.commit('a dependsOn chain of 20,000 models', {
    'quickstart/chain.yaml': chain(20_000),
  });
  const status = await waitFor(
    'the chain reported as a bad commit',
    async () => {
      const s = await getStatus(url);
      return s.controller.badCommit?.commit === bad ? s : undefined;
    },
    60_000,
  );
  const diagnostics = status.controller.badCommit?.diagnostics ?? [];
  expect(diagnostics.map((d) => d.code)).toEqual(['dependency-chain-too-deep']);
  expect(diagnostics[0]).toMatchObject({
    file: expect.stringMatching(/quickstart\/chain\.yaml$/),
    line: 201,
    path: ['metadata', 'dependsOn', 0],
  });
  expect(status.controller.appliedCommit).toBe(good);
  expect(JSON.stringify(status)).not.toMatch(/RangeError|Maximum call stack|internal/i);

  // Still reconciled: the model, removed from the state behind the controller's back, comes back.
  const syncedBefore = status.controller.lastSync?.finishedAt ?? '';
  // Moved aside in one step: the controller may be writing into it, which a recursive rm would race.
  const aside = join(repo.root, 'removed-mpg');
  await rename(join(repo.stateDir, 'registry', 'mpg'), aside);
  await rm(aside, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  // The model is back once a sync that began after the removal has finished (the sync running at
  // the moment of removal may recreate the folder before it reports).
  const after = await waitFor(
    'the last good state reconciled again',
    async () => {
      const s = await getStatus(url);
      return (await modelRecorded()) && (s.controller.lastSync?.finishedAt ?? '') > syncedBefore
        ? s
        : undefined;
    },
    30_000,
  );
  expect(after.controller.badCommit?.commit).toBe(bad);
  expect(after.controller.appliedCommit).toBe(good);
  expect(after.controller.lastSync?.finishedAt && after.controller.lastSync.finishedAt > syncedBefore).toBe(
    true,
  );
  const metrics = await (await fetch(`${url}/metrics`)).text();
  expect(metrics).toMatch(/mlform_errors_total\{type="validation"\} 1\b/);
  expect(metrics).not.toMatch(/mlform_errors_total\{type="internal"\} [1-9]/);
}, 120_000);
