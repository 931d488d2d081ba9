import { describe, expect, it } from 'vitest';
import { backoffDelay, ResourceBackoff } from '../../controller/loop/backoff.js';
import { changeFilter } from '../../controller/loop/sync-loop.js';

describe('backoffDelay', () => {
  it('doubles from 5 s and caps at 5 min', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n) / 1000)).toEqual([
      5, 10, 20, 40, 80, 160, 300, 300,
    ]);
    expect(backoffDelay(0)).toBe(0);
    expect(backoffDelay(10_000)).toBe(300_000);
  });
});

describe('ResourceBackoff', () => {
  it('blocks a failed resource until its retry time, others not at all', () => {
    let now = 1_000_000;
    const backoff = new ResourceBackoff({ now: () => now });
    const first = backoff.failed('DeployedEndpoint/api', 'port taken', 'abc');
    expect(first.nextRetryAt).toBe(now + 5_000);
    expect(backoff.isBlocked('DeployedEndpoint/api')).toBe(true);
    expect(backoff.isBlocked('TrainingRun/x')).toBe(false);
    expect(backoff.msUntilNextRetry()).toBe(5_000);
    now += 5_000;
    expect(backoff.isBlocked('DeployedEndpoint/api')).toBe(false);
    // Retried (with the newest commit) and failed again: twice as long.
    expect(backoff.failed('DeployedEndpoint/api', 'still taken', 'def').nextRetryAt).toBe(now + 10_000);
    expect(backoff.get('DeployedEndpoint/api')).toMatchObject({
      failures: 2,
      lastError: 'still taken',
      commit: 'def',
    });
  });

  it('forgets a resource on success or when the plan has nothing left for it', () => {
    const backoff = new ResourceBackoff({ now: () => 0 });
    backoff.failed('A/a', 'x', undefined);
    backoff.failed('B/b', 'y', undefined);
    backoff.succeeded('A/a');
    expect(backoff.get('A/a')).toBeUndefined();
    backoff.retainOnly(new Set(['C/c']));
    expect(backoff.all()).toEqual([]);
    expect(backoff.msUntilNextRetry()).toBeUndefined();
  });
});

describe('changeFilter', () => {
  it('leaves out resources in backoff, and drift corrections without self-heal', () => {
    const backoff = new ResourceBackoff({ now: () => 0 });
    backoff.failed('DeployedEndpoint/api', 'boom', 'c1');
    const heal = changeFilter(backoff, true);
    const noHeal = changeFilter(backoff, false);
    expect(heal({ resource: 'DeployedEndpoint/api' })).toBe(false);
    expect(heal({ resource: 'DeployedEndpoint/web', drift: true })).toBe(true);
    expect(noHeal({ resource: 'DeployedEndpoint/web', drift: true })).toBe(false);
    expect(noHeal({ resource: 'DeployedEndpoint/web' })).toBe(true);
  });
});
