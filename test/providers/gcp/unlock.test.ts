/**
 * A crashed apply's GCS lock (providers/gcp/lease.ts): the same holder on the same host takes it
 * at once, anyone else gets `lock-held` naming the holder and `mlform unlock`, and `mlform unlock`
 * (in process, against test/fakes/gcp) prints the holder and releases exactly the lease it read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { unlockCommand } from '../../../controller/cli/commands/unlock.js';
import { fakeContext } from '../../cli/handlers/fake-context.js';
import { harness, type Harness } from './helpers.js';
import { gcpProjectFile } from './project-file.js';

let h: Harness;
let dir: string;
const saved = process.env.MLFORM_GCP_API_ENDPOINT;
beforeAll(async () => {
  h = await harness();
  dir = await mkdtemp(join(tmpdir(), 'mlform-unlock-'));
  await writeFile(join(dir, 'mlform.yaml'), gcpProjectFile('europe-central2'));
  process.env.MLFORM_GCP_API_ENDPOINT = h.fake.url;
});
afterAll(async () => {
  if (saved === undefined) delete process.env.MLFORM_GCP_API_ENDPOINT;
  else process.env.MLFORM_GCP_API_ENDPOINT = saved;
  await h?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A pid that no process has any more: a child that has exited. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid ?? 0;

/** Writes the lease a crashed apply left: unexpired, its process gone. */
async function crashedLease(holder: string, pid = deadPid()): Promise<void> {
  const storage = new Storage({ apiEndpoint: h.fake.url, projectId: 'x' });
  const now = Date.now();
  await storage
    .bucket('mlform-test')
    .file('state/demo/locks/apply.json')
    .save(
      JSON.stringify({
        holder,
        pid,
        hostname: hostname(),
        token: 'crashed',
        acquiredAt: new Date(now).toISOString(),
        expiresAt: new Date(now + 60_000).toISOString(),
      }),
      { resumable: false },
    );
}

describe('a crashed apply on gcp', () => {
  it('leaves a lock the same holder takes at once and another holder is told to `mlform unlock`', async () => {
    await crashedLease('alice@laptop');
    const other = await h.provider.lock(h.ctx, { holder: 'bob@ci', ttlMs: 60_000 });
    expect(other.lease).toBeUndefined();
    expect(other.diagnostics[0]).toMatchObject({ code: 'lock-held' });
    expect(other.diagnostics[0].message).toMatch(/^apply lock held by alice@laptop \(pid \d+\) until/);
    expect(other.diagnostics[0].hint).toContain('`mlform unlock` shows the holder and releases it');

    const same = await h.provider.lock(h.ctx, { holder: 'alice@laptop', ttlMs: 60_000 });
    expect(same.diagnostics).toEqual([]);
    expect(same.lease?.holder).toBe('alice@laptop');
    // A live process of the same holder (this one) keeps its lease.
    const again = await h.provider.lock(h.ctx, { holder: 'alice@laptop', ttlMs: 60_000 });
    expect(again.diagnostics[0]).toMatchObject({ code: 'lock-held' });
    expect((await same.lease!.release()).diagnostics).toEqual([]);
  });

  it('inspectLock releases only the generation it read', async () => {
    await crashedLease('carol@host');
    const read = await h.provider.inspectLock!(h.ctx, { name: 'apply' });
    expect(read.held).toMatchObject({ holder: 'carol@host', hostname: hostname(), holderGone: true });
    await crashedLease('dave@host'); // taken over in between: a new generation
    const refused = await read.held!.release();
    expect(refused.diagnostics[0]).toMatchObject({ code: 'lock-changed' });
    expect((await h.provider.inspectLock!(h.ctx, {})).held?.holder).toBe('dave@host');
    const fresh = await h.provider.inspectLock!(h.ctx, {});
    expect((await fresh.held!.release()).diagnostics).toEqual([]);
    expect((await h.provider.inspectLock!(h.ctx, {})).held).toBeUndefined();
  });

  it('mlform unlock prints the holder, refuses a live lock without --force, asks, and releases', async () => {
    const options = { file: [dir], allowDataRoot: undefined, stateDir: undefined, policy: undefined };
    const none = fakeContext();
    expect(await unlockCommand.handler([], options, none.ctx)).toBe(0);
    expect(none.stdout()).toBe('the apply lock is not held\n');

    // Live: held by this very process, from "another" holder.
    const live = await h.provider.lock(h.ctx, { holder: 'erin@build-7', ttlMs: 60_000 });
    const refused = fakeContext({ interactive: true });
    expect(await unlockCommand.handler([], options, refused.ctx)).toBe(1);
    expect(refused.stdout()).toMatch(
      new RegExp(
        `^apply lock held by erin@build-7 \\(pid ${process.pid} on ${hostname()}\\) since \\S+, until \\S+\n`,
      ),
    );
    expect(refused.stdout()).toContain('it has not expired, and its holder may still be applying');
    expect(refused.stderr()).toContain('the apply lock of erin@build-7 is live; not released');
    expect(refused.stderr()).toContain('pass --force');
    expect(refused.questions).toEqual([]);

    const declined = fakeContext({ interactive: true, answers: ['no'] });
    expect(await unlockCommand.handler([], { ...options, force: true }, declined.ctx)).toBe(1);
    expect(declined.questions).toEqual([
      "\nRelease the apply lock of erin@build-7? Only 'yes' will be accepted: ",
    ]);
    expect((await h.provider.inspectLock!(h.ctx, {})).held?.holder).toBe('erin@build-7');

    const noTerminal = fakeContext();
    expect(await unlockCommand.handler([], { ...options, force: true }, noTerminal.ctx)).toBe(1);
    expect(noTerminal.stderr()).toContain('pass --yes (-y)');

    const forced = fakeContext({ interactive: true, answers: ['yes'] });
    expect(await unlockCommand.handler([], { ...options, force: true }, forced.ctx)).toBe(0);
    expect(forced.stdout()).toContain('released the apply lock of erin@build-7');
    expect((await h.provider.inspectLock!(h.ctx, {})).held).toBeUndefined();
    // The holder finds out at its next renewal.
    expect((await live.lease!.renew()).diagnostics[0]).toMatchObject({ code: 'lock-lost' });

    // A crashed holder's lock needs no --force; -y skips the question.
    await crashedLease('frank@laptop');
    const crashed = fakeContext();
    expect(await unlockCommand.handler([], { ...options, yes: true }, crashed.ctx)).toBe(0);
    expect(crashed.stdout()).toContain('is gone from this host: nobody renews it');
    expect(crashed.stdout()).toContain('released the apply lock of frank@laptop');
  });
});
