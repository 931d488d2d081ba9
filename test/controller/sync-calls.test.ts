/**
 * What one sync costs in provider calls, counted by the loop's own `countingProvider` (through
 * `mlform_provider_calls_total`): once the stack has converged, a sync lists each kind once, one
 * round of four list calls (DESIGN.md "Refresh on a budget"), and makes no other call but the
 * apply lock's; a sync that applies a new revision lists no more than apply itself does.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, expect, it, vi } from 'vitest';
import { openProject } from '../../controller/cli/project.js';
import { createDirectorySource } from '../../controller/loop/directory-source.js';
import { createControllerMetrics } from '../../controller/loop/metrics.js';
import { SyncLoop } from '../../controller/loop/sync-loop.js';
import { modelManifest, modelsProject, waitFor } from './helpers.js';

let dir: string | undefined;
let loop: SyncLoop | undefined;

afterEach(async () => {
  await loop?.stop();
  loop = undefined;
  if (dir) await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

it('lists once per sync while nothing changes, and no more than apply does when a change comes', async () => {
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
  await writeFile(join(dir, 'beta.yaml'), modelManifest('beta', 'changed'));
  const puts = () => calls.mock.calls.filter(([l]) => (l as Labels).verb === 'put').length;
  await waitFor('the change applied', async () => puts() === 3, 10_000, 10);
  const after = syncs.mock.calls.length;
  await waitFor('three syncs more', async () => syncs.mock.calls.length >= after + 3, 10_000, 10);
  await loop.stop();
  loop = undefined;

  expect(new Set(syncs.mock.calls.map(([labels]) => (labels as { result: string }).result))).toEqual(
    new Set(['succeeded']),
  );
  // Each sync's calls: those between the end of the one before and its own end.
  const ends = [0, ...syncs.mock.invocationCallOrder];
  const perSync = ends.slice(1).map((end, s) =>
    calls.mock.calls
      .filter(
        (_, i) => calls.mock.invocationCallOrder[i] > ends[s] && calls.mock.invocationCallOrder[i] < end,
      )
      .map(([labels]) => `${(labels as Labels).kind} ${(labels as Labels).verb}`)
      .sort(),
  );
  const lists = (sync: string[]) => sync.filter((c) => c.endsWith(' list')).length;
  const applying = perSync.filter((sync) => sync.some((c) => c.endsWith(' put')));
  expect(applying).toHaveLength(2);
  // apply observes before and after acting: two rounds; the loop adds none.
  for (const sync of applying) expect(lists(sync)).toBeLessThanOrEqual(8);
  const idle = perSync.filter((sync) => !sync.some((c) => c.endsWith(' put')));
  expect(idle.length).toBeGreaterThanOrEqual(6);
  for (const sync of idle) {
    expect(sync).toEqual([
      'DeployedEndpoint list',
      'Lease lock',
      'RegisteredModel list',
      'Schedule list',
      'TrainingRun list',
    ]);
  }
});

interface Labels {
  kind: string;
  verb: string;
}
