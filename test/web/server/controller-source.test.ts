/**
 * The controller's dashboard source: a snapshot after each reconcile of a real loop (watched
 * directory, local provider, models only), carrying desired state, observation, plan, statuses
 * and controller status; a manifest that stops loading shows as positioned diagnostics while the
 * last good desired state stays.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openProject } from '../../../controller/cli/project.js';
import { SyncLoop } from '../../../controller/loop/sync-loop.js';
import { ControllerSource } from '../../../controller/web/controller-source.js';
import type { StackSnapshot } from '../../../controller/web/snapshot.js';
import { directoryLoopOptions, modelsProject, waitFor } from '../../controller/helpers.js';

let dir: string;
let loop: SyncLoop | undefined;
let source: ControllerSource | undefined;

beforeEach(async () => {
  dir = await modelsProject('mlform-web-ctl-', 'webctl', ['alpha', 'beta']);
});

afterEach(async () => {
  source?.close();
  await loop?.stop();
  loop = undefined;
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

describe('ControllerSource', () => {
  it('takes a snapshot after every reconcile, with the bad commit positioned', async () => {
    loop = new SyncLoop(directoryLoopOptions(dir, (paths) => openProject(paths)));
    source = new ControllerSource(loop);
    const seen: StackSnapshot[] = [];
    source.subscribe((s) => seen.push(s));
    expect(source.current()).toBeUndefined();
    loop.start();

    const first = await waitFor(
      'a synced snapshot',
      async () => {
        const s = source!.current();
        return s?.statuses.every((r) => r.syncStatus === 'Synced') && s.statuses.length === 2 ? s : undefined;
      },
      20_000,
      50,
    );
    expect(first).toMatchObject({ mode: 'controller', stack: 'webctl', provider: 'local', diagnostics: [] });
    expect(first.projectDir).toBe(dir);
    expect(first.desired?.resources.map((r) => r.address).sort()).toEqual([
      'RegisteredModel/alpha',
      'RegisteredModel/beta',
    ]);
    expect(first.observed.models.map((m) => m.name).sort()).toEqual(['alpha', 'beta']);
    expect(first.plan?.changes.every((c) => c.action === 'noop')).toBe(true);
    expect(first.controller?.()).toMatchObject({ leader: true, stack: 'webctl' });
    expect(source.provider).toBeDefined();
    expect(source.ctx.stack).toBe('webctl');
    expect(seen.at(-1)).toBe(first);

    await writeFile(
      join(dir, 'broken.yaml'),
      'apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata:\n  name: gamma\nspec:\n  nope: 1\n',
    );
    const bad = await waitFor(
      'a snapshot with the bad revision',
      async () => {
        const s = source!.current();
        return s && s.diagnostics.length > 0 ? s : undefined;
      },
      20_000,
      50,
    );
    expect(bad.seq).toBeGreaterThan(first.seq);
    expect(bad.diagnostics[0]).toMatchObject({
      severity: 'error',
      file: expect.stringContaining('broken.yaml'),
    });
    expect(bad.diagnostics[0].line).toBeGreaterThan(0);
    // The last good desired state is still what is shown and planned.
    expect(bad.desired?.resources).toHaveLength(2);
    expect(bad.controller?.()).toMatchObject({ badCommit: { commit: expect.any(String) } });
  });
});
