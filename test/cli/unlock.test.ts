/**
 * `mlform unlock` on the local provider (the lock file `<stateDir>/lock.json`), in process: the
 * holder is printed, a live lock needs --force, a dead holder's lock only the confirmation, and
 * the release removes exactly the lease that was read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { unlockCommand } from '../../controller/cli/commands/unlock.js';
import { openProject } from '../../controller/cli/project.js';
import { fakeContext } from './handlers/fake-context.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-unlock-local-'));
  await cp('examples/quickstart/mlform.yaml', join(dir, 'mlform.yaml'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const options = (extra: { force?: boolean; yes?: boolean } = {}) => ({
  file: [dir],
  allowDataRoot: undefined,
  stateDir: undefined,
  policy: undefined,
  ...extra,
});

describe('mlform unlock (local)', () => {
  it('prints the holder; a live lock needs --force and yes; a dead holder only the confirmation', async () => {
    const opened = await openProject([dir]);
    const { provider, providerCtx } = opened.project!;
    const lock = await provider.lock(providerCtx, { holder: 'alice@laptop', ttlMs: 60_000 });
    expect(lock.diagnostics).toEqual([]);

    const refused = fakeContext();
    expect(await unlockCommand.handler([], options({ yes: true }), refused.ctx)).toBe(1);
    expect(refused.stdout()).toMatch(
      new RegExp(`^apply lock held by alice@laptop \\(pid ${process.pid} on ${hostname()}\\) since `),
    );
    expect(refused.stderr()).toContain('the apply lock of alice@laptop is live; not released');

    const forced = fakeContext({ interactive: true, answers: ['yes'] });
    expect(await unlockCommand.handler([], options({ force: true }), forced.ctx)).toBe(0);
    expect(forced.stdout()).toContain('released the apply lock of alice@laptop');
    expect((await provider.inspectLock!(providerCtx, {})).held).toBeUndefined();

    // A crashed apply of this host: its pid is gone, so no --force is needed.
    const dead = spawnSync(process.execPath, ['-e', '']).pid ?? 0;
    const path = join(dir, '.mlform', 'lock.json');
    const taken = await provider.lock(providerCtx, { holder: 'bob@laptop', ttlMs: 60_000 });
    await taken.lease!.release();
    const now = Date.now();
    await writeFile(
      path,
      JSON.stringify({
        formatVersion: 1,
        holder: 'bob@laptop',
        pid: dead,
        hostname: hostname(),
        token: 'crashed',
        acquiredAt: new Date(now).toISOString(),
        expiresAt: new Date(now + 60_000).toISOString(),
      }),
    );
    const read = await provider.inspectLock!(providerCtx, {});
    expect(read.held).toMatchObject({ holder: 'bob@laptop', pid: dead, holderGone: true });
    const crashed = fakeContext({ interactive: true, answers: ['yes'] });
    expect(await unlockCommand.handler([], options(), crashed.ctx)).toBe(0);
    expect(crashed.stdout()).toContain(`its process (pid ${dead}) is gone from this host`);
    await expect(readFile(path)).rejects.toThrow(/ENOENT/);

    // Read, then taken by someone else: that lease stays.
    const again = await provider.lock(providerCtx, { holder: 'carol@laptop', ttlMs: 60_000 });
    const stale = (await provider.inspectLock!(providerCtx, {})).held!;
    await again.lease!.release();
    const dave = await provider.lock(providerCtx, { holder: 'dave@laptop', ttlMs: 60_000 });
    expect((await stale.release()).diagnostics[0]).toMatchObject({ code: 'lock-changed' });
    expect((await provider.inspectLock!(providerCtx, {})).held?.holder).toBe('dave@laptop');
    await dave.lease!.release();
  });
});
