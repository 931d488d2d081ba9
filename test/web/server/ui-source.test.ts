/**
 * `mlform ui`'s source on a local project: refreshes on touch only when the snapshot is older than
 * the interval, one at a time; edits show; a manifest that stops loading keeps the last good
 * desired state with positioned diagnostics; a viewer that touches on every snapshot (an open
 * stream) keeps it refreshing, and without one it stops.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openForReading } from '../../../controller/cli/stack-reading.js';
import { operatorFromEnv } from '../../../controller/cli/operator.js';
import type { StackSnapshot } from '../../../controller/web/snapshot.js';
import { UiSource } from '../../../controller/web/ui-source.js';
import { modelManifest, modelsProject, waitFor } from '../../controller/helpers.js';

let dir: string;
let source: UiSource | undefined;

beforeEach(async () => {
  dir = await modelsProject('mlform-ui-src-', 'uisrc', ['alpha']);
});

afterEach(async () => {
  source?.close();
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

async function uiSource(refreshMs: number): Promise<UiSource> {
  const operator = operatorFromEnv({});
  const opened = await openForReading([dir], operator);
  source = new UiSource({ files: [dir], operator, project: opened.project!, refreshMs });
  return source;
}

describe('UiSource', () => {
  it('observes on touch when stale, shows edits, and keeps the last good state when loading fails', async () => {
    const s = await uiSource(60_000);
    const seen: StackSnapshot[] = [];
    s.subscribe((snap) => seen.push(snap));
    expect(s.current()).toBeUndefined();
    s.touch();
    s.touch();
    await s.refresh();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      mode: 'ui',
      stack: 'uisrc',
      provider: 'local',
      refreshSeconds: 60,
      diagnostics: [],
    });
    expect(seen[0].statuses.map((r) => [r.address, r.health])).toEqual([
      ['RegisteredModel/alpha', 'Missing'],
    ]);
    expect(seen[0].statuses[0].conditions.every((c) => c.commit === null)).toBe(true);
    // Fresh: a touch does not observe again.
    s.touch();
    await s.refresh();
    expect(seen).toHaveLength(2); // the explicit refresh() above
    s.touch();
    expect(seen).toHaveLength(2);

    await writeFile(join(dir, 'beta.yaml'), modelManifest('beta'));
    await s.refresh();
    expect(s.current()?.statuses.map((r) => r.address)).toEqual([
      'RegisteredModel/alpha',
      'RegisteredModel/beta',
    ]);

    await writeFile(join(dir, 'beta.yaml'), `${modelManifest('beta')}  nope: 1\n`);
    await s.refresh();
    const broken = s.current()!;
    expect(broken.diagnostics.length).toBeGreaterThan(0);
    expect(broken.diagnostics[0]).toMatchObject({
      file: expect.stringContaining('beta.yaml'),
      line: expect.any(Number),
    });
    expect(broken.desired?.resources).toHaveLength(2);
    expect(s.ctx.readOnly).toBe(true);
  });

  it('keeps refreshing while a viewer touches on every snapshot, and stops without one', async () => {
    const s = await uiSource(50);
    let watching = true;
    let count = 0;
    s.subscribe(() => {
      count++;
      if (watching) s.touch();
    });
    s.touch();
    await waitFor('three refreshes', async () => count >= 3, 5_000, 10);
    watching = false;
    await waitFor(
      'refreshing to stop',
      async () => {
        const before = count;
        await new Promise((resolve) => setTimeout(resolve, 200));
        return count === before;
      },
      5_000,
      0,
    );
  });
});
