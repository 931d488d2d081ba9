/**
 * Schedule: created, updated in place, or drift-corrected (paused by hand). The provider launches
 * scheduled runs from a copy of the template (Cloud Scheduler calls Vertex AI directly), so the
 * hash applied to a schedule covers its template too: a template change updates the schedule.
 */
import { trainingRunAddress } from '../../resources/address.js';
import { nextFireTime, onceState, signalOnly, type ScheduleSpec } from '../../resources/schedule.js';
import { specHash } from '../../resources/spec-hash.js';
import type { FieldChange } from './change.js';
import { diffValues, wholeFields } from './field-diff.js';
import {
  PHASE,
  addChange,
  annotationsOf,
  explicitDependsOn,
  labelsOf,
  type Desired,
  type PlanContext,
} from './plan-context.js';
import { lastFireOf, onceStatus } from './once-schedule.js';
import { zonedMinute } from './zoned-time.js';

/** The hash a schedule is applied with (and observed with): its own spec and its template's. */
export const scheduleAppliedHash = (scheduleSpecHash: string, templateSpecHash: string): string =>
  specHash({ schedule: scheduleSpecHash, template: templateSpecHash });

export function planSchedules(ctx: PlanContext): void {
  // Searching a fire time costs ~1 ms in croner, and schedules repeat a handful of expressions.
  const fireTimes = new Map<string, Date | undefined>();
  const nextOf = (spec: ScheduleSpec): Date | undefined => {
    const key = `${spec.cron ?? ''}|${spec.at ?? ''}|${spec.timeZone}|${spec.suspend}`;
    if (!fireTimes.has(key)) fireTimes.set(key, nextFireTime(spec, ctx.now));
    return fireTimes.get(key);
  };
  for (const s of ctx.desired.schedules) planSchedule(ctx, s, nextOf);
}

function planSchedule(
  ctx: PlanContext,
  s: Desired<'Schedule'>,
  nextOf: (spec: ScheduleSpec) => Date | undefined,
): void {
  const spec = s.manifest.spec;
  const templateAddress = trainingRunAddress(spec.trainingRun);
  const template = ctx.desired.byAddress.get(templateAddress);
  // The loader rejects dangling references; nothing to copy the template from.
  if (template?.manifest.kind !== 'TrainingRun') return;
  const applied = scheduleAppliedHash(s.specHash, template.specHash);
  const next = nextOf(spec);
  const observed = ctx.observed.schedules.get(s.name);
  const lastFire = lastFireOf(observed, ctx.observed.runsByName.get(spec.trainingRun) ?? []);
  const once = onceStatus(spec, lastFire, ctx.now);
  const suspended = spec.suspend ? 'suspended' : undefined;
  const when = once
    ? [once.text, ...(suspended && once.state !== 'done' ? [suspended] : [])].join('; ')
    : next
      ? `next run ${zonedMinute(next, spec.timeZone)} ${spec.timeZone}`
      : signalOnly(spec)
        ? ['fires on a signal only', ...(suspended ? [suspended] : [])].join('; ')
        : 'suspended';
  // A one-off that fired or missed its instant is paused wherever it lives: on gcp its yearly
  // cron would fire again a year later (providers/gcp/README.md).
  const over = once?.state === 'done' || once?.state === 'missed';
  // Past its instant a provider may pause a one-off early (gcp: Cloud Scheduler fires no passed
  // time late): paused then is not drift, whether the applied `at` or a new one has passed.
  const observedOnce = observed && onceState(observed.spec, lastFire, ctx.now);
  const passed = [once, observedOnce].some((o) => o !== undefined && o.state !== 'pending');
  const annotations = annotationsOf(s);
  const after = {
    name: s.name,
    specHash: applied,
    spec,
    template: {
      name: template.name,
      specHash: template.specHash,
      spec: template.manifest.spec,
      manifestPath: template.source.path,
    },
    nextFireTime: next ? next.toISOString() : null,
    labels: labelsOf(s),
    annotations,
  };
  const base = {
    kind: 'Schedule' as const,
    address: s.address,
    resource: s.address,
    dependsOn: [templateAddress, ...explicitDependsOn(s)],
  };
  if (!observed) {
    addChange(ctx, PHASE.schedule, {
      ...base,
      action: 'create',
      reason: when,
      fields: wholeFields(spec, 'spec', 'create'),
      before: null,
      after,
    });
    return;
  }
  const fields: FieldChange[] = diffValues(observed.spec, spec, 'spec');
  const overPause = over && !observed.paused && !observed.spec.suspend;
  if (overPause) {
    // Not drift: the provider pauses a one-off after its fire, on the next apply.
    fields.push({ path: 'paused', before: false, after: true });
  } else if (
    observed.paused !== observed.spec.suspend &&
    !(observed.paused && passed) &&
    // A signal-only schedule's job is paused by design where the backend fires on time (gcp).
    !(observed.paused && signalOnly(observed.spec))
  ) {
    fields.push({ path: 'paused', before: observed.paused, after: spec.suspend, drift: true });
  }
  fields.push(...diffValues(observed.annotations, annotations, 'metadata.annotations'));
  const changed = observed.specHash !== applied;
  if (!changed && fields.length === 0) {
    addChange(ctx, PHASE.schedule, {
      ...base,
      action: 'noop',
      reason: when,
      fields: [],
      before: null,
      after: null,
      notice: false,
    });
    return;
  }
  const reasons: string[] = [];
  const specFields = fields.some((f) => f.path.startsWith('spec.'));
  if (specFields) reasons.push('spec changed');
  else if (changed) reasons.push(`its template ${templateAddress} changed`);
  if (fields.some((f) => f.drift)) reasons.push(`${observed.paused ? 'paused' : 'resumed'} outside mlform`);
  if (fields.some((f) => f.path.startsWith('metadata.'))) reasons.push('annotations changed');
  if (overPause) reasons.push(`${once?.state === 'done' ? 'fired once' : 'missed'}: pause`);
  else reasons.push(when);
  const drift = fields.some((f) => f.drift);
  addChange(ctx, PHASE.schedule, {
    ...base,
    action: 'update',
    reason: reasons.join('; '),
    fields,
    ...(drift ? { drift } : {}),
    before: { specHash: observed.specHash, spec: observed.spec, paused: observed.paused },
    after,
  });
}
