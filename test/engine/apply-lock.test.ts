/**
 * `withApplyLock` (engine/apply-lock.ts) with the real local provider: a lock lost mid-apply (its
 * lease taken over by another writer, or expired under a paused renewal) aborts the work, nothing
 * more is carried out, and the outcome names what happened.
 */
import { mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openProject } from '../../controller/cli/project.js';
import { apply } from '../../controller/engine/apply.js';
import { withApplyLock } from '../../controller/engine/apply-lock.js';
import type { Provider, ProviderContext } from '../../providers/provider.js';

let dir: string;
const model = (name: string) =>
  `apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata:\n  name: ${name}\nspec:\n  description: ${name}\n`;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-apply-lock-'));
  await writeFile(join(dir, 'mlform.yaml'), 'stack: locks\nprovider: local\n');
  for (const name of ['m1', 'm2', 'm3', 'm4', 'm5']) await writeFile(join(dir, `${name}.yaml`), model(name));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const waitForAbort = (signal: AbortSignal | undefined, ms: number) =>
  new Promise<void>((resolve) => {
    if (!signal || signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

async function open() {
  const opened = await openProject([dir]);
  if (!opened.project) throw new Error(JSON.stringify(opened.diagnostics));
  return opened.project;
}

/** Carries out `onFirstPut` after the first model is created, then waits for the work's signal. */
function afterFirstPut(provider: Provider, onFirstPut: () => Promise<void>): Provider {
  let puts = 0;
  return {
    ...provider,
    registeredModels: {
      ...provider.registeredModels,
      put: async (ctx: ProviderContext, req) => {
        const result = await provider.registeredModels.put(ctx, req);
        if (++puts === 1) {
          await onFirstPut();
          await waitForAbort(ctx.signal, 30_000);
        }
        return result;
      },
    },
  };
}

async function applyUnderLock(
  wrap: (provider: Provider, ctx: ProviderContext) => Provider,
  lock: { ttlMs: number; renewEveryMs: number },
) {
  const { desired, provider, providerCtx } = await open();
  return withApplyLock(provider, providerCtx, { holder: 'me@test', ...lock }, (locked) =>
    apply({
      provider: wrap(provider, locked.ctx),
      ctx: locked.ctx,
      desired,
      planOptions: { prune: true },
      wait: false,
      parallelism: 1,
    }),
  );
}

const models = async () => (await readdir(join(dir, '.mlform', 'registry'))).sort();

describe('withApplyLock', () => {
  it('a lease taken over mid-apply stops the apply after the change in flight; the new holder keeps it', async () => {
    const outcome = await applyUnderLock(
      (provider, ctx) =>
        afterFirstPut(provider, async () => {
          // Another writer takes the lock over (as after an expiry): our renewal finds it gone.
          await unlink(join(dir, '.mlform', 'lock.json'));
          const thief = await provider.lock(ctx, { holder: 'thief@elsewhere', ttlMs: 60_000 });
          expect(thief.lease).toBeDefined();
        }),
      { ttlMs: 60_000, renewEveryMs: 50 },
    );
    expect(outcome.status).toBe('lost');
    // Named when the renewal finds the new lease; a renewal that falls between the old lease's
    // removal and the new one's creation finds none and says only that it was lost.
    expect(outcome.diagnostics.map((d) => d.message).join('\n')).toMatch(/was lost( to thief@elsewhere|$)/m);
    // One model created before the loss, none after it.
    expect(await models()).toHaveLength(1);
    if (outcome.status === 'lost') expect(outcome.value.ok).toBe(false);
    // The thief's lease is left in place.
    const again = await (
      await open()
    ).provider.lock((await open()).providerCtx, {
      holder: 'third',
      ttlMs: 1_000,
    });
    expect(again.lease).toBeUndefined();
    expect(again.diagnostics.map((d) => d.message).join('\n')).toMatch(/thief@elsewhere/);
  });

  it('a lease that expires before its renewal (a paused renewal) stops the apply', async () => {
    const outcome = await applyUnderLock((provider) => afterFirstPut(provider, async () => {}), {
      ttlMs: 300,
      renewEveryMs: 60_000,
    });
    expect(outcome.status).toBe('lost');
    expect(outcome.diagnostics.map((d) => d.message).join('\n')).toMatch(/expired before it was renewed/);
    // At most the change in flight when it expired (none if a loaded machine let it expire sooner).
    expect((await models()).length).toBeLessThanOrEqual(1);
  });

  it('a held lock runs nothing and names the holder; a free one runs the work and is released', async () => {
    const { provider, providerCtx } = await open();
    const first = await provider.lock(providerCtx, { holder: 'alice@host', ttlMs: 60_000 });
    let ran = false;
    const held = await withApplyLock(provider, providerCtx, { holder: 'bob@host' }, async () => {
      ran = true;
    });
    expect(held.status).toBe('held');
    expect(ran).toBe(false);
    expect(held.diagnostics.map((d) => d.message).join('\n')).toMatch(/alice@host/);
    await first.lease?.release();

    const done = await withApplyLock(provider, providerCtx, { holder: 'bob@host' }, async ({ ctx }) => {
      expect(ctx.applyLock?.holder).toBe('bob@host');
      return 42;
    });
    expect(done).toEqual({ status: 'done', value: 42, diagnostics: [] });
    const next = await provider.lock(providerCtx, { holder: 'carol@host', ttlMs: 1_000 });
    expect(next.lease).toBeDefined();
    await next.lease?.release();
  });
});
