/**
 * When a stack whose Schedules have `triggers` must be looked at again without a commit: a
 * trigger acts on the last complete monitoring window of its endpoint, and windows are aligned to
 * multiples of their length since the epoch (monitoring/window-summary.ts). So the controller
 * requeues shortly after the next window of a watched endpoint closes, when the server has written
 * its summary, rather than at the (longer) resync interval.
 */
import type { DesiredState } from '../../manifests/load.js';
import { parseDuration } from '../../resources/training-run.js';
import { triggerTarget } from '../../resources/schedule.js';

/** After a window closes, time for the servers to flush its summaries before looking. */
export const WINDOW_GRACE_MS = 60_000;

/** Never sooner than this, whatever a manifest's window says (a 1s window is not a busy loop). */
export const MIN_TRIGGER_REQUEUE_MS = 30_000;

/**
 * Milliseconds until the next look a trigger needs: the next window end of any endpoint watched
 * by an unsuspended Schedule, plus `WINDOW_GRACE_MS` (capped at half the window); undefined when
 * no Schedule has triggers.
 */
export function triggerRequeueMs(desired: DesiredState, now: number): number | undefined {
  const windows = new Set<number>();
  const endpoints = new Map<string, string | undefined>();
  for (const r of desired.resources) {
    if (r.manifest.kind === 'DeployedEndpoint') endpoints.set(r.name, r.manifest.spec.monitoring?.window);
  }
  for (const r of desired.resources) {
    if (r.manifest.kind !== 'Schedule' || r.manifest.spec.suspend) continue;
    for (const trigger of r.manifest.spec.triggers ?? []) {
      const window = endpoints.get(triggerTarget(trigger).endpoint);
      const ms = window === undefined ? Number.NaN : parseDuration(window) * 1000;
      if (ms > 0) windows.add(ms);
    }
  }
  let soonest: number | undefined;
  for (const ms of windows) {
    // The next instant `grace` after a window end: a window that closed less than `grace` ago counts.
    const grace = Math.min(WINDOW_GRACE_MS, ms / 2);
    const next = Math.floor((now - grace) / ms) * ms + ms + grace;
    const wait = Math.max(MIN_TRIGGER_REQUEUE_MS, next - now);
    soonest = soonest === undefined ? wait : Math.min(soonest, wait);
  }
  return soonest;
}
