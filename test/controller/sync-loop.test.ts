/**
 * The loop on a watched directory with the real local provider (no trainings: models only), and a
 * provider wrapper that makes one resource fail: failure isolation with backoff, recovery, the
 * last good state across an invalid edit, and leadership.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openProject } from '../../controller/cli/project.js';
import { SyncLoop, type OpenProject } from '../../controller/loop/sync-loop.js';
import { directoryLoopOptions, failingModelPut, waitFor } from './helpers.js';

let dir: string;
let loop: SyncLoop | undefined;

const model = (name: string, description = 'a model') =>
  `apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata:\n  name: ${name}\nspec:\n  description: ${description}\n`;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-loop-'));
  await writeFile(join(dir, 'mlform.yaml'), `stack: looptest\nprovider: local\nlocal:\n  stateDir: .state\n`);
  await writeFile(join(dir, 'a.yaml'), model('alpha'));
  await writeFile(join(dir, 'b.yaml'), model('beta'));
});

afterEach(async () => {
  await loop?.stop();
  loop = undefined;
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

const failingOpen = (failing: { on: boolean; calls: number[] }): OpenProject => failingModelPut(failing);

function startLoop(open: OpenProject) {
  const options = directoryLoopOptions(dir, open);
  loop = new SyncLoop({ ...options, backoff: { baseMs: 300, maxMs: 1_000 } });
  loop.start();
  return { loop, metrics: options.metrics };
}

const resource = (l: SyncLoop, address: string) => l.status().resources.find((r) => r.address === address);

describe('SyncLoop', () => {
  it('isolates a failing resource with backoff while the others converge, then recovers', async () => {
    const failing = { on: true, calls: [] as number[] };
    const { loop: l, metrics } = startLoop(failingOpen(failing));
    await waitFor('a first sync', async () => l.status().controller.lastSync !== null, 10_000, 20);
    expect(l.isLeader).toBe(true);
    expect(l.isReady).toBe(true);
    expect(resource(l, 'RegisteredModel/beta')?.syncStatus).toBe('Synced');
    const alpha = resource(l, 'RegisteredModel/alpha');
    expect(alpha?.syncStatus).toBe('OutOfSync');
    expect(alpha?.lastError).toContain('quota exceeded');
    expect(alpha?.nextRetryAt).not.toBeNull();
    expect(alpha?.conditions.some((c) => c.type === 'ApplyFailed' && c.status)).toBe(true);
    expect(l.status().controller.lastSync?.result).toBe('degraded');

    // Retried after its backoff (300 ms, then 600 ms), not on every 100 ms requeue.
    await waitFor('two retries', async () => failing.calls.length >= 3, 5_000, 20);
    const [first, second, third] = failing.calls;
    expect(second - first).toBeGreaterThanOrEqual(300);
    expect(third - second).toBeGreaterThanOrEqual(600);

    failing.on = false;
    await waitFor(
      'alpha converged',
      async () => resource(l, 'RegisteredModel/alpha')?.syncStatus === 'Synced',
      10_000,
      20,
    );
    expect(resource(l, 'RegisteredModel/alpha')?.lastError).toBeNull();
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/mlform_errors_total\{type="apply"\} [1-9]/);
    expect(text).toContain('mlform_leader 1');
  });

  it('keeps reconciling the last good state through an invalid edit; the watched directory triggers syncs', async () => {
    const { loop: l } = startLoop((paths) => openProject(paths));
    await waitFor(
      'a first sync',
      async () => resource(l, 'RegisteredModel/beta')?.syncStatus === 'Synced',
      10_000,
      20,
    );
    const good = l.status().controller.appliedCommit;

    await writeFile(join(dir, 'b.yaml'), `${model('beta')}  descripton: typo\n`);
    await waitFor(
      'the bad revision reported',
      async () => l.status().controller.badCommit !== null,
      10_000,
      20,
    );
    const status = l.status();
    expect(status.controller.badCommit?.diagnostics[0]?.message).toMatch(/descripton/);
    expect(status.controller.appliedCommit).toBe(good);
    expect(status.resources.map((r) => r.address)).toContain('RegisteredModel/beta');

    await writeFile(join(dir, 'b.yaml'), model('beta', 'changed'));
    await waitFor(
      'the good edit applied',
      async () => l.status().controller.badCommit === null && l.status().controller.appliedCommit !== good,
      10_000,
      20,
    );
    expect(resource(l, 'RegisteredModel/beta')?.syncStatus).toBe('Synced');
  });

  it('waits while a CLI apply holds the apply lock, then syncs', async () => {
    const opened = await openProject([dir]);
    const held = await opened.project!.provider.lock(opened.project!.providerCtx, {
      name: 'apply',
      holder: 'alice@laptop',
      ttlMs: 30_000,
    });
    expect(held.lease).toBeDefined();
    const { loop: l, metrics } = startLoop((paths) => openProject(paths));
    await waitFor(
      'a lock-held sync',
      async () => l.status().controller.lastSync?.result === 'lock-held',
      10_000,
      20,
    );
    expect(l.status().resources).toEqual([]);
    await held.lease!.release();
    await waitFor('a sync', async () => l.status().controller.lastSync?.result === 'succeeded', 10_000, 20);
    expect(await metrics.registry.metrics()).toMatch(/mlform_sync_total\{result="lock-held"\} [1-9]/);
  });

  it('stops acting and releases the lease on stop', async () => {
    const { loop: l, metrics } = startLoop((paths) => openProject(paths));
    await waitFor('leading', async () => l.isLeader, 10_000, 20);
    await l.stop();
    expect(l.isLeader).toBe(false);
    expect(l.isReady).toBe(false);
    expect(await metrics.registry.metrics()).toContain('mlform_leader 0');
    expect(l.requestFetch()).toBe('stopping');
  });
});
