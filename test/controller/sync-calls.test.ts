/**
 * What one sync costs in provider calls, counted by the loop's own `countingProvider` (through
 * `mlform_provider_calls_total`): once the stack has converged, a sync lists each kind once, one
 * round of four list calls (DESIGN.md "Refresh on a budget"), and makes no other call but the
 * apply lock's.
 */
import { rm } from 'node:fs/promises';
import { pino } from 'pino';
import { afterEach, expect, it, vi } from 'vitest';
import { openProject } from '../../controller/cli/project.js';
import { createDirectorySource } from '../../controller/loop/directory-source.js';
import { createControllerMetrics } from '../../controller/loop/metrics.js';
import { SyncLoop } from '../../controller/loop/sync-loop.js';
import { modelsProject, waitFor } from './helpers.js';

let dir: string | undefined;
let loop: SyncLoop | undefined;

afterEach(async () => {
  await loop?.stop();
  loop = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('makes one round of four list calls per sync once nothing changes', async () => {
  dir = await modelsProject('mlform-loop-calls-', 'calls', ['alpha', 'beta']);
  const metrics = createControllerMetrics({ defaultMetrics: false });
  // The global call order of both spies interleaves provider calls with finished syncs.
  const calls = vi.spyOn(metrics.providerCalls, 'inc');
  const syncs = vi.spyOn(metrics.syncTotal, 'inc');
  loop = new SyncLoop({
    source: createDirectorySource({ dir, debounceMs: 50 }),
    openProject: (paths) => openProject(paths),
    log: pino({ level: 'silent' }),
    metrics,
    version: 'test',
    resyncMs: 50,
    progressMs: 50,
    leaseTtlMs: 600,
    selfHeal: true,
    prune: false,
  });
  loop.start();
  // The first sync creates both models; the ones after it find nothing to do.
  await waitFor('five syncs', async () => syncs.mock.calls.length >= 5, 10_000, 10);
  await loop.stop();
  loop = undefined;

  const ends = syncs.mock.invocationCallOrder;
  expect(syncs.mock.calls.slice(0, 5).map(([labels]) => labels)).toEqual(
    Array.from({ length: 5 }, () => ({ result: 'succeeded' })),
  );
  const between = (after: number, before: number) =>
    calls.mock.calls
      .map(([labels], i) => ({ labels, order: calls.mock.invocationCallOrder[i] }))
      .filter(({ order }) => order > after && order < before)
      .map(({ labels }) => labels as { kind: string; verb: string })
      .map(({ kind, verb }) => `${kind} ${verb}`)
      .sort();
  for (let s = 1; s < 4; s++) {
    expect(between(ends[s], ends[s + 1])).toEqual([
      'DeployedEndpoint list',
      'Lease lock',
      'RegisteredModel list',
      'Schedule list',
      'TrainingRun list',
    ]);
  }
});
