/**
 * `ScheduleFiring`: fires queued by the clock are carried out one at a time under the apply lock,
 * once per due time, and wait while another writer holds the lock. The lock is the real local
 * provider's; schedules live in memory so a fire launches no training.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ScheduleFiring } from '../../controller/loop/schedule-firing.js';
import { createLocalProvider } from '../../providers/local/index.js';
import type { ObservedSchedule, Provider, ProviderContext } from '../../providers/provider.js';

const LOCK_RETRY_MS = 1_500;

let dir: string;
let firing: ScheduleFiring | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-firing-'));
});

afterEach(async () => {
  firing?.stop();
  firing = undefined;
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

/**
 * Daily at midnight UTC, last fired two days ago, with a deadline of two days: the latest midnight is
 * a missed fire, due now (and the clock's own next timer is hours away, out of the tests' way).
 */
const daily = (): ObservedSchedule => ({
  name: 'nightly',
  specHash: 'h',
  spec: {
    trainingRun: 'fit',
    cron: '0 0 * * *',
    timeZone: 'UTC',
    suspend: false,
    concurrencyPolicy: 'Forbid',
    startingDeadlineSeconds: 2 * 86_400,
    history: { successful: 5, failed: 3 },
  },
  annotations: {},
  paused: false,
  lastFireTime: new Date(Date.now() - 2 * 86_400_000).toISOString(),
});

/** The local provider's lock, with schedules kept in memory; `fired` records each trigger. */
function setUp(options: { mayFire?: () => boolean; schedule?: ObservedSchedule } = {}) {
  const inner = createLocalProvider({ stateDir: join(dir, 'state') });
  const schedules = [options.schedule ?? daily()];
  const fired: { name: string; underLock: boolean }[] = [];
  const provider: Provider = {
    ...inner,
    schedules: {
      ...inner.schedules,
      list: async () => ({ items: schedules.map((s) => ({ ...s })), diagnostics: [] }),
      trigger: async (ctx, req) => {
        fired.push({ name: req.name, underLock: ctx.applyLock !== undefined });
        schedules[0].lastFireTime = new Date().toISOString();
        return { diagnostics: [] };
      },
    },
  };
  const ctx: ProviderContext = { stack: 'fire', projectDir: dir };
  let queued = 0;
  firing = new ScheduleFiring({
    identity: 'test/1',
    lockRetryMs: LOCK_RETRY_MS,
    log: pino({ level: 'silent' }),
    status: {
      recordError: (type, message) => {
        throw new Error(`unexpected ${type} error: ${message}`);
      },
    },
    mayFire: options.mayFire ?? (() => true),
    onQueued: () => queued++,
  });
  return { firing, provider, ctx, schedules, fired, queued: () => queued };
}

describe('ScheduleFiring', () => {
  it('fires a missed fire once, under the apply lock; the next pass has nothing to do', async () => {
    const t = setUp();
    t.firing.update(t.schedules);
    expect(t.queued()).toBe(1);
    expect(t.firing.dueAt).toBe(0);
    expect(await t.firing.fireDue(t.provider, t.ctx)).toBe('fired');
    expect(t.fired).toEqual([{ name: 'nightly', underLock: true }]);
    expect(t.firing.dueAt).toBe(Number.POSITIVE_INFINITY);
    expect(await t.firing.fireDue(t.provider, t.ctx)).toBe('idle');
    // Observed again after the fire: nothing missed any more.
    t.firing.update(t.schedules);
    expect(t.queued()).toBe(1);
    expect(t.fired).toHaveLength(1);
  });

  it('skips a fire the schedule already made for that due time (a previous leader)', async () => {
    const t = setUp();
    t.firing.update(t.schedules);
    t.schedules[0].lastFireTime = new Date().toISOString();
    expect(await t.firing.fireDue(t.provider, t.ctx)).toBe('fired');
    expect(t.fired).toEqual([]);
  });

  it('waits while another writer holds the apply lock, keeping the fire queued', async () => {
    const t = setUp();
    const held = await t.provider.lock(t.ctx, { name: 'apply', holder: 'alice@laptop', ttlMs: 30_000 });
    expect(held.lease).toBeDefined();
    t.firing.update(t.schedules);
    const before = Date.now();
    expect(await t.firing.fireDue(t.provider, t.ctx)).toBe('held');
    expect(t.fired).toEqual([]);
    expect(t.firing.dueAt).toBeGreaterThanOrEqual(before + LOCK_RETRY_MS);
    await held.lease!.release();
    expect(await t.firing.fireDue(t.provider, t.ctx)).toBe('fired');
    expect(t.fired).toEqual([{ name: 'nightly', underLock: true }]);
  });

  it('queues nothing while it may not fire (a standby, or stopping)', async () => {
    const t = setUp({ mayFire: () => false });
    t.firing.update(t.schedules);
    expect(t.queued()).toBe(0);
    expect(t.firing.dueAt).toBe(Number.POSITIVE_INFINITY);
    expect(await t.firing.fireDue(t.provider, t.ctx)).toBe('idle');
    expect(t.fired).toEqual([]);
  });
});

describe('ScheduleFiring, a one-off schedule', () => {
  it('fires its missed instant once, never having fired before; not again, nor after a restart', async () => {
    // At the start of the minute ten minutes ago, in UTC: due, within the one-hour deadline.
    const instant = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000);
    const once: ObservedSchedule = {
      ...daily(),
      name: 'nightly',
      spec: {
        ...daily().spec,
        cron: undefined,
        at: instant.toISOString().slice(0, 16),
        startingDeadlineSeconds: 3600,
      },
      lastFireTime: undefined,
    };
    const t = setUp({ schedule: once });
    t.firing.update(t.schedules);
    expect(t.queued()).toBe(1);
    expect(await t.firing.fireDue(t.provider, t.ctx)).toBe('fired');
    expect(t.fired).toEqual([{ name: 'nightly', underLock: true }]);
    t.firing.update(t.schedules);
    expect(await t.firing.fireDue(t.provider, t.ctx)).toBe('idle');
    t.firing.stop();
    // A new leader, or the controller restarted: the recorded fire keeps it done.
    const restarted = setUp({ schedule: t.schedules[0] });
    restarted.firing.update(restarted.schedules);
    expect(restarted.queued()).toBe(0);
    expect(restarted.fired).toEqual([]);
  });
});
