/**
 * Retraining on a signal (issue 15, item 5): whether a Schedule trigger's condition holds in an
 * endpoint's observed `MonitoringStatus`, worded as the reason a run records, and how a run says a
 * trigger fired it. Pure: the plan, apply's guard, `describe` and the providers share it.
 *
 * The run is the record: the provider annotates the run it fires with `mlform.dev/fired-by:
 * trigger`, the reason and the time, and the cooldown is read back from the newest such run of the
 * schedule. A crash between the fire and anything after it cannot fire twice, and no state file
 * is needed.
 */
import { deployedEndpointAddress } from '../resources/address.js';
import { QUALITY_BOUND, triggerTarget } from '../resources/schedule.js';
import type { ScheduleTrigger } from '../resources/monitoring.js';
import type { MonitoringStatus } from './status.js';

export const FIRED_BY_ANNOTATION = 'mlform.dev/fired-by';
export const TRIGGER_REASON_ANNOTATION = 'mlform.dev/trigger-reason';
export const FIRED_AT_ANNOTATION = 'mlform.dev/fired-at';

/** Fewest feedback items a live metric needs before a quality trigger believes it. */
export const MIN_QUALITY_FEEDBACK = 10;

/** Reasons are shown on one line and stored on the run (a Vertex AI job's environment on gcp). */
export const MAX_REASON_LENGTH = 300;

/**
 * The reason the trigger fires, or undefined when its condition does not hold. Drift: the status
 * says `drifted` and, when the trigger names a threshold, the worst score is above it (unknown
 * drift never fires). Quality: the live metric the trigger watches, from at least
 * `MIN_QUALITY_FEEDBACK` feedback items, is past its bound.
 */
export function triggerSignal(trigger: ScheduleTrigger, status: MonitoringStatus): string | undefined {
  const { endpoint } = triggerTarget(trigger);
  const on = (type: string) => `${type} on ${deployedEndpointAddress(endpoint)}`;
  const window = windowText(status);
  if ('drift' in trigger) {
    if (status.drift !== 'drifted') return undefined;
    const limit = trigger.drift.threshold;
    const past = status.features
      .filter((f) => (limit === undefined ? f.drifted : f.score > limit))
      .sort((a, b) => b.score - a.score || (a.name < b.name ? -1 : 1));
    const worst = past[0];
    if (!worst) return undefined;
    const more = past.length > 1 ? `, ${past.length - 1} more feature${past.length > 2 ? 's' : ''}` : '';
    const bound = limit ?? worst.threshold;
    return cut(
      `${on('drift')}: ${worst.name} ${worst.metric} ${num(worst.score)} > ${num(bound)}${more}${window}`,
    );
  }
  const { metric, max, min } = trigger.quality;
  const quality = status.quality;
  if (!quality || quality.metric !== metric || quality.count < MIN_QUALITY_FEEDBACK) return undefined;
  const bound = QUALITY_BOUND[metric] === 'max' ? max : min;
  if (bound === undefined) return undefined;
  const past = QUALITY_BOUND[metric] === 'max' ? quality.value > bound : quality.value < bound;
  if (!past) return undefined;
  const op = QUALITY_BOUND[metric] === 'max' ? '>' : '<';
  return cut(
    `${on('quality')}: ${metric} ${num(quality.value)} ${op} ${num(bound)} over ${quality.count} feedback${window}`,
  );
}

/** The annotations of a run a trigger fired (the provider adds them to the run it creates). */
export function firedByTriggerAnnotations(reason: string, at: Date): Record<string, string> {
  return {
    [FIRED_BY_ANNOTATION]: 'trigger',
    [TRIGGER_REASON_ANNOTATION]: cut(reason),
    [FIRED_AT_ANNOTATION]: at.toISOString(),
  };
}

/** The reason a trigger fired this run; undefined for a run fired on time or by hand. */
export function triggerReasonOf(run: { annotations: Readonly<Record<string, string>> }): string | undefined {
  if (run.annotations[FIRED_BY_ANNOTATION] !== 'trigger') return undefined;
  return run.annotations[TRIGGER_REASON_ANNOTATION] ?? '(no reason recorded)';
}

/** ` (window 2026-12-05 10:00-11:00 UTC)`, or nothing when the status names no window. */
function windowText(status: MonitoringStatus): string {
  const start = status.windowStart === undefined ? Number.NaN : Date.parse(status.windowStart);
  const end = status.windowEnd === undefined ? Number.NaN : Date.parse(status.windowEnd);
  if (Number.isNaN(start) || Number.isNaN(end)) return '';
  const s = new Date(start).toISOString();
  const e = new Date(end).toISOString();
  // Seconds only for windows that do not fall on whole minutes (windows may be as short as 10 s).
  const clock = start % 60_000 === 0 && end % 60_000 === 0 ? 16 : 19;
  const endText =
    s.slice(0, 10) === e.slice(0, 10) ? e.slice(11, clock) : `${e.slice(0, 10)} ${e.slice(11, clock)}`;
  return ` (window ${s.slice(0, 10)} ${s.slice(11, clock)}-${endText} UTC)`;
}

/** Scores and metrics as people read them: 0.41, 4.5, 123.46 (two decimals, or two digits below 1). */
const num = (value: number): string =>
  String(Number(Math.abs(value) >= 1 ? value.toFixed(2) : value.toPrecision(2)));

const cut = (text: string): string =>
  text.length <= MAX_REASON_LENGTH ? text : `${text.slice(0, MAX_REASON_LENGTH - 3)}...`;
