/**
 * The controller looks at a stack with Schedule triggers again shortly after the next monitoring
 * window of a watched endpoint closes (reconcile's `requeueAfterMs`), without a commit.
 */
import { describe, expect, it } from 'vitest';
import { MIN_TRIGGER_REQUEUE_MS, triggerRequeueMs } from '../../controller/loop/trigger-requeue.js';
import { loadTrees } from '../engine/helpers.js';

const at = (iso: string) => Date.parse(iso);

describe('triggerRequeueMs', () => {
  it('is the time to the next window end of a watched endpoint plus a minute for the summaries', async () => {
    const desired = await loadTrees('core', 'runs', 'triggers');
    // mpg-watch has `window: 1h`: the 10:00-11:00 window closes at 11:00, looked at 11:01.
    expect(triggerRequeueMs(desired, at('2026-11-20T10:20:00Z'))).toBe(41 * 60_000);
    expect(triggerRequeueMs(desired, at('2026-11-20T10:59:59Z'))).toBe(61_000);
    // A window that closed less than a minute ago is looked at a minute after it closed, but
    // never sooner than MIN_TRIGGER_REQUEUE_MS (no busy loop).
    expect(triggerRequeueMs(desired, at('2026-11-20T11:00:20Z'))).toBe(40_000);
    expect(triggerRequeueMs(desired, at('2026-11-20T11:00:50Z'))).toBe(30_000);
    expect(triggerRequeueMs(desired, at('2026-11-20T11:01:30Z'))).toBe(60 * 60_000 - 30_000);
    expect(MIN_TRIGGER_REQUEUE_MS).toBe(30_000);
  });

  it('is undefined without triggers, or when the schedule is suspended', async () => {
    expect(triggerRequeueMs(await loadTrees('core', 'runs', 'schedule'), Date.now())).toBeUndefined();
    const desired = await loadTrees('core', 'runs', 'triggers');
    const schedule = desired.resources.find((r) => r.address === 'Schedule/mpg-retrain');
    if (schedule?.manifest.kind !== 'Schedule') throw new Error('no schedule');
    schedule.manifest.spec.suspend = true;
    expect(triggerRequeueMs(desired, Date.now())).toBeUndefined();
  });
});
