/**
 * The apply lock: one holder at a time, the others told who holds it and until when; an expired
 * lease or one whose process died on this host is taken over; release and renew act only on a
 * lease that is still ours.
 */
import { spawnSync } from 'node:child_process';
import { readFile, writeFile, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalProvider } from '../../../providers/local/index.js';
import { tempProject, type Project } from './helpers.js';

let project: Project;

beforeAll(async () => {
  project = await tempProject();
});

afterAll(async () => {
  await project?.cleanup();
});

const lockFile = () => join(project.stateDir, 'lock.json');

/** A pid that surely belongs to no process: one that just exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

function lease(holder: string, pid: number, host: string, expiresAt: Date): string {
  return JSON.stringify({
    formatVersion: 1,
    holder,
    pid,
    hostname: host,
    token: `token-${holder}`,
    acquiredAt: new Date().toISOString(),
    expiresAt: expiresAt.toISOString(),
  });
}

describe('apply lock', () => {
  it('has one holder; another acquire fails naming it, its pid and the expiry', async () => {
    const { provider, ctx } = project;
    const first = await provider.lock(ctx, { holder: 'alice@laptop', ttlMs: 60_000 });
    expect(first.diagnostics).toEqual([]);
    expect(first.lease?.holder).toBe('alice@laptop');

    const second = await provider.lock(ctx, { holder: 'bob@ci', ttlMs: 60_000 });
    expect(second.lease).toBeUndefined();
    expect(second.diagnostics).toHaveLength(1);
    expect(second.diagnostics[0].code).toBe('lock-held');
    expect(second.diagnostics[0].message).toMatch(
      new RegExp(
        `^apply lock held by alice@laptop \\(pid ${process.pid}\\) until \\d\\d:\\d\\d:\\d\\d; retry later or wait$`,
      ),
    );

    const expiry = Date.parse(first.lease?.expiresAt as string);
    expect((await first.lease?.renew())?.diagnostics).toEqual([]);
    expect(Date.parse(first.lease?.expiresAt as string)).toBeGreaterThanOrEqual(expiry);
    expect((await first.lease?.release())?.diagnostics).toEqual([]);
    await expect(readFile(lockFile())).rejects.toThrow();

    const third = await provider.lock(ctx, { holder: 'bob@ci', ttlMs: 60_000 });
    expect(third.diagnostics).toEqual([]);
    await third.lease?.release();
  });

  it('takes over an expired lease; the old holder can neither renew nor release it', async () => {
    const { ctx } = project;
    const now = { time: Date.now() };
    const provider = createLocalProvider({ now: () => new Date(now.time) });
    const old = await provider.lock(ctx, { holder: 'alice', ttlMs: 1_000 });
    expect(old.diagnostics).toEqual([]);
    now.time += 5_000;
    const fresh = await provider.lock(ctx, { holder: 'bob', ttlMs: 60_000 });
    expect(fresh.diagnostics).toEqual([]);

    const renewed = await old.lease?.renew();
    expect(renewed?.diagnostics.map((d) => d.code)).toEqual(['lock-lost']);
    const released = await old.lease?.release();
    expect(released?.diagnostics.map((d) => d.code)).toEqual(['lock-not-ours']);
    expect(JSON.parse(await readFile(lockFile(), 'utf8'))).toMatchObject({ holder: 'bob' });
    expect((await fresh.lease?.release())?.diagnostics).toEqual([]);
  });

  it('takes over a lease whose process died on this host, not one of another host', async () => {
    const { provider, ctx } = project;
    // Within MAX_LEASE_TTL_MS: a lease further out is forged and never held (see below).
    const later = new Date(Date.now() + 300_000);
    const pid = deadPid();
    await writeFile(lockFile(), lease('carol', pid, hostname(), later));
    const taken = await provider.lock(ctx, { holder: 'dave', ttlMs: 60_000 });
    expect(taken.diagnostics).toEqual([]);
    await taken.lease?.release();

    await writeFile(lockFile(), lease('erin', pid, 'another-host', later));
    const refused = await provider.lock(ctx, { holder: 'dave', ttlMs: 60_000 });
    expect(refused.diagnostics[0].message).toContain(`held by erin@another-host (pid ${pid})`);
  });

  it('a lease expiring further out than any mlform asks for (a forged lock.json) is stale, not held', async () => {
    const { provider, ctx } = project;
    // Held by a live process of this host (this one) "until 2099": only the bound sees through it.
    await writeFile(lockFile(), lease('mallory', process.pid, hostname(), new Date('2099-01-01T00:00:00Z')));
    const taken = await provider.lock(ctx, { holder: 'dave', ttlMs: 60_000 });
    expect(taken.diagnostics).toEqual([]);
    expect(taken.lease?.holder).toBe('dave');
    await taken.lease?.release();
    // Nor can mlform itself be asked for such a lease.
    const tooLong = await provider.lock(ctx, { holder: 'dave', ttlMs: 3_600_000 });
    expect(tooLong.diagnostics.map((d) => d.code)).toEqual(['lock-ttl']);
  });

  it('a damaged lock file is a diagnostic while fresh, taken over once older than the ttl', async () => {
    const { provider, ctx } = project;
    await writeFile(lockFile(), '{"formatVersion": 1');
    const fresh = await provider.lock(ctx, { holder: 'dave', ttlMs: 60_000 });
    expect(fresh.diagnostics.map((d) => d.code)).toEqual(['local-corrupt-record']);
    const old = new Date(Date.now() - 120_000);
    await utimes(lockFile(), old, old);
    const taken = await provider.lock(ctx, { holder: 'dave', ttlMs: 60_000 });
    expect(taken.diagnostics).toEqual([]);
    await taken.lease?.release();
  });

  it('gives the lease to exactly one of many racing acquirers', async () => {
    const { provider, ctx } = project;
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => provider.lock(ctx, { holder: `racer-${i}`, ttlMs: 60_000 })),
    );
    const winners = results.filter((r) => r.lease);
    expect(winners).toHaveLength(1);
    for (const loser of results.filter((r) => !r.lease)) expect(loser.diagnostics[0].code).toBe('lock-held');
    await winners[0].lease?.release();
  });
});
