/**
 * Issue 18, item 4: an exception while a revision loads (a bug, not the commit's fault) is an
 * internal error, counted once per revision, and the last good desired state keeps being
 * reconciled on the next passes. The loop follows a watched directory with the real local
 * provider; `openProject` throws while a marker file is present, as a loader bug would.
 */
import { access, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openProject } from '../../controller/cli/project.js';
import { createDirectorySource } from '../../controller/loop/directory-source.js';
import { createControllerMetrics } from '../../controller/loop/metrics.js';
import { SyncLoop } from '../../controller/loop/sync-loop.js';
import { waitFor } from '../controller/helpers.js';

let dir: string;
let loop: SyncLoop | undefined;

const model = (name: string) =>
  `apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata:\n  name: ${name}\nspec:\n  description: a model\n`;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-graph-loop-'));
  await writeFile(
    join(dir, 'mlform.yaml'),
    `stack: graphloop\nprovider: local\nlocal:\n  stateDir: .state\n`,
  );
  await writeFile(join(dir, 'a.yaml'), model('alpha'));
});

afterEach(async () => {
  await loop?.stop();
  loop = undefined;
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  await rm(`${dir}-alpha-removed`, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

it('keeps reconciling the last good state while a revision throws, and reports it as internal', async () => {
  let attempts = 0;
  const metrics = createControllerMetrics({ defaultMetrics: false });
  loop = new SyncLoop({
    source: createDirectorySource({ dir, debounceMs: 50 }),
    openProject: async (paths) => {
      if (await exists(join(dir, 'boom.yaml'))) {
        attempts++;
        throw new RangeError('Maximum call stack size exceeded');
      }
      return openProject(paths);
    },
    log: pino({ level: 'silent' }),
    metrics,
    version: 'test',
    resyncMs: 100,
    progressMs: 100,
    leaseTtlMs: 600,
    selfHeal: true,
    prune: false,
  });
  loop.start();
  const l = loop;
  const alpha = join(dir, '.state', 'registry', 'alpha');
  await waitFor(
    'the first sync',
    async () => (await exists(alpha)) && (l.status().controller.appliedCommit ?? false),
    10_000,
    20,
  );
  const good = l.status().controller.appliedCommit;

  await writeFile(join(dir, 'boom.yaml'), model('beta'));
  await waitFor(
    'the internal error reported',
    async () => l.status().controller.lastError ?? false,
    10_000,
    20,
  );
  const status = l.status();
  expect(status.controller.lastError).toMatch(/^loading commit \S+ failed \(RangeError: Maximum call stack/);
  expect(status.controller.lastError).toContain(`keeping ${good} desired state`);
  expect(status.controller.badCommit).toBeNull();

  // The next passes reconcile the last good state: alpha, removed behind the loop's back, returns.
  // Moved out in one step: the loop may be writing into it.
  await rename(alpha, `${dir}-alpha-removed`);
  await waitFor('alpha created again', async () => exists(alpha), 10_000, 20);
  expect(attempts).toBeGreaterThan(1);
  expect(l.status().controller.appliedCommit).toBe(good);
  // Still reported after passes that reconciled the last good state (they used to clear it).
  expect(l.status().controller.lastError).toMatch(/^loading commit \S+ failed/);
  const text = await metrics.registry.metrics();
  // Once per revision, however many passes tried to load it.
  expect(text).toMatch(/mlform_errors_total\{type="internal"\} 1\n/);

  // Fixed (the marker gone): the new revision loads and is applied.
  await rm(join(dir, 'boom.yaml'));
  await waitFor(
    'a new revision applied',
    async () => l.status().controller.appliedCommit !== good,
    10_000,
    20,
  );
  await waitFor('the error cleared', async () => l.status().controller.lastError === null, 10_000, 20);
});
