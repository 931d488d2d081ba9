/**
 * TrainingRun: identity is (name, spec hash). One completed training of the desired hash is the
 * goal; an active one is waited for, a failed one retried within `retry.limit`, an active run of an
 * older hash replaced. Runs a Schedule fired (`schedule` set) are the schedule's: a change of the
 * template never replaces or cancels them.
 */
import { registeredModelAddress, runAddress, runRef, scheduleAddress } from '../../resources/address.js';
import { error, warning } from '../../resources/diagnostic.js';
import { PREVENT_DESTROY_ANNOTATION, SCHEDULED_ONLY_ANNOTATION } from '../../resources/metadata.js';
import type { ObservedRun } from '../../providers/provider.js';
import { triggerReasonOf } from '../../monitoring/trigger.js';
import type { FieldChange, RunLaunch, RunRefValue } from './change.js';
import { diffValues, wholeFields } from './field-diff.js';
import {
  PHASE,
  activeRun,
  addChange,
  annotationsOf,
  at,
  explicitDependsOn,
  isActive,
  isProtected,
  labelsOf,
  type Desired,
  type PlanContext,
} from './plan-context.js';

/** A run of a template's current spec whose output this plan expects: a deferred registration. */
export interface PendingRun {
  run: RunRefValue;
  /** Address of the change that creates it or waits for it. */
  address: string;
}

export interface RunsPlan {
  /** Template name -> pending runs of its current spec, by number. */
  pending: ReadonlyMap<string, PendingRun[]>;
}

export function planTrainingRuns(ctx: PlanContext): RunsPlan {
  const pending = new Map<string, PendingRun[]>();
  const scheduleNames = new Set(ctx.desired.schedules.map((s) => s.name));
  for (const r of ctx.desired.runs) {
    const all = ctx.observed.runsByName.get(r.name) ?? [];
    const mine = planTemplate(ctx, r, all);
    const list = mine ? [mine] : [];
    // Scheduled runs in flight: shown, and registered after training when they have the current spec.
    for (const run of all) {
      if (!run.schedule || !isActive(run) || !scheduleNames.has(run.schedule)) continue;
      const address = runAddress(run);
      addChange(ctx, PHASE.run, {
        action: 'wait',
        kind: 'TrainingRun',
        address,
        resource: r.address,
        reason: `${runRef(run)} (fired by ${scheduleAddress(run.schedule)}${onSignal(run)}) is ${run.state}${progressText(run)}`,
        fields: [],
        dependsOn: [],
        before: null,
        after: null,
        run: activeRun(run),
        progress: run.progress ?? null,
      });
      if (run.specHash === r.specHash) list.push({ run: { name: run.name, number: run.number }, address });
    }
    pending.set(
      r.name,
      list.sort((a, b) => a.run.number - b.run.number),
    );
  }
  return { pending };
}

/** The change for the template's own (unscheduled) runs; returns the run it expects output from. */
function planTemplate(
  ctx: PlanContext,
  r: Desired<'TrainingRun'>,
  all: ObservedRun[],
): PendingRun | undefined {
  const spec = r.manifest.spec;
  const own = all.filter((run) => !run.schedule);
  const ofHash = own.filter((run) => run.specHash === r.specHash);
  const stale = own.filter((run) => isActive(run) && run.specHash !== r.specHash);
  const base = {
    kind: 'TrainingRun' as const,
    address: r.address,
    resource: r.address,
    fields: [],
    dependsOn: [...(spec.model ? [registeredModelAddress(spec.model)] : []), ...explicitDependsOn(r)],
  };
  const noop = (reason: string, notice = false) =>
    addChange(ctx, PHASE.run, { ...base, action: 'noop', reason, before: null, after: null, notice });
  if (r.manifest.metadata.annotations?.[SCHEDULED_ONLY_ANNOTATION] === 'true') {
    noop(`a template only its Schedules fire (${SCHEDULED_ONLY_ANNOTATION})`);
    return undefined;
  }

  const active = ofHash.filter(isActive).at(-1);
  if (active) {
    cancelStale(ctx, r, stale);
    addChange(ctx, PHASE.run, {
      ...base,
      action: 'wait',
      reason: `${runRef(active)} is ${active.state}${progressText(active)}`,
      before: null,
      after: null,
      run: activeRun(active),
      progress: active.progress ?? null,
    });
    return { run: { name: active.name, number: active.number }, address: r.address };
  }
  const succeeded = ofHash.filter((run) => run.state === 'succeeded').at(-1);
  if (succeeded) {
    cancelStale(ctx, r, stale);
    noop(`${runRef(succeeded)} succeeded with this spec`);
    return undefined;
  }
  const failures = ofHash.filter((run) => run.state === 'failed');
  const limit = spec.retry.limit;
  const lastFailure = failures.at(-1);
  if (lastFailure && failures.length > limit) {
    cancelStale(ctx, r, stale);
    const which = failures.map(runRef).join(', ');
    noop(
      `failed ${failures.length} times with this spec (${which}); change the spec or raise retry.limit`,
      true,
    );
    ctx.diagnostics.push(
      warning(
        'retries-exhausted',
        `${r.address} failed ${failures.length} time${failures.length === 1 ? '' : 's'} with this spec; change the spec or raise retry.limit`,
        {
          ...at(r, ['spec', 'retry', 'limit']),
          hint: lastFailure.error ? `last error (${runRef(lastFailure)}): ${lastFailure.error}` : undefined,
        },
      ),
    );
    return undefined;
  }

  const number = (all.at(-1)?.number ?? 0) + 1;
  const launch: RunLaunch = {
    name: r.name,
    number,
    attempt: Math.max(0, ...ofHash.map((run) => run.attempt)) + 1,
    specHash: r.specHash,
    spec,
    manifestPath: r.source.path,
    model: spec.model ?? null,
    labels: labelsOf(r),
    annotations: annotationsOf(r),
  };
  const next = runRef(launch);
  if (stale.length > 0) {
    const old = stale.map(runRef).join(', ');
    if (isProtected(r.manifest.metadata.annotations)) {
      ctx.diagnostics.push(protectedReplace(r, old));
      noop(`replace of ${old} blocked by ${PREVENT_DESTROY_ANNOTATION}`, true);
      return undefined;
    }
    addChange(ctx, PHASE.run, {
      ...base,
      action: 'replace',
      fields: replacedFields(own, r),
      reason: `spec changed while ${old} ${stale.length === 1 ? 'is' : 'are'} ${stale.length === 1 ? stale[0].state : 'active'}: ${old} will be CANCELLED and replaced by ${next}`,
      before: { cancel: stale.map(activeRun) },
      after: launch,
    });
    return { run: { name: r.name, number }, address: r.address };
  }
  const cancelled = ofHash.filter((run) => run.state === 'cancelled').at(-1);
  const last = ofHash.at(-1);
  let reason: string;
  if (last && last === lastFailure) {
    reason = `${runRef(lastFailure)} failed${lastFailure.error ? ` (${lastFailure.error})` : ''}; retry ${failures.length} of ${limit} as ${next}`;
  } else if (last && last === cancelled) {
    reason = `${runRef(cancelled)} was cancelled; starts ${next}`;
  } else if (own.length > 0) {
    // The TrainingRun now means a different training: Terraform's -/+, although the finished run
    // is not destroyed (runs are history) and nothing is running to cancel.
    const previous = own.at(-1);
    addChange(ctx, PHASE.run, {
      ...base,
      action: 'replace',
      fields: replacedFields(own, r),
      reason: `spec changed: ${next} replaces ${previous ? runRef(previous) : 'the earlier runs'} (which stays as history)`,
      before: { cancel: [] },
      after: launch,
    });
    return { run: { name: r.name, number }, address: r.address };
  } else {
    reason = `starts ${next}`;
  }
  addChange(ctx, PHASE.run, {
    ...base,
    action: 'create',
    reason,
    fields: wholeFields(spec, 'spec', 'create'),
    before: null,
    after: launch,
  });
  return { run: { name: r.name, number }, address: r.address };
}

/**
 * What a replace changes: the desired spec against the spec of the run it replaces, the latest own
 * run of another hash that is active or succeeded (a failed one never was the TrainingRun's
 * training). Every changed field forces the replacement: any spec change is a new run. A run
 * whose provider did not keep its spec (created before providers did) gives no fields.
 */
function replacedFields(own: readonly ObservedRun[], r: Desired<'TrainingRun'>): FieldChange[] {
  const previous = own
    .filter((run) => run.specHash !== r.specHash && (isActive(run) || run.state === 'succeeded'))
    .at(-1);
  if (!previous?.spec) return [];
  return diffValues(previous.spec, r.manifest.spec, 'spec').map((f) => ({ ...f, replace: true }));
}

/** Active runs of a spec that is no longer desired, when no replace covers them. */
function cancelStale(ctx: PlanContext, r: Desired<'TrainingRun'>, stale: ObservedRun[]): void {
  if (stale.length === 0) return;
  if (isProtected(r.manifest.metadata.annotations)) {
    ctx.diagnostics.push(protectedReplace(r, stale.map(runRef).join(', ')));
    return;
  }
  for (const run of stale) {
    addChange(ctx, PHASE.run, {
      action: 'cancel',
      kind: 'TrainingRun',
      address: runAddress(run),
      resource: r.address,
      reason: `${runRef(run)} has a spec that is no longer in the manifest`,
      fields: [],
      dependsOn: [],
      before: activeRun(run),
      after: null,
    });
  }
}

const protectedReplace = (r: Desired<'TrainingRun'>, old: string) =>
  error(
    'prevent-destroy',
    `${r.address} has ${PREVENT_DESTROY_ANNOTATION}: its spec changed, and replacing it would cancel ${old}`,
    {
      ...at(r, ['metadata', 'annotations', PREVENT_DESTROY_ANNOTATION]),
      hint: `wait until ${old} finishes, or remove the annotation to let the replace cancel it`,
    },
  );

export function progressText(run: ObservedRun): string {
  const p = run.progress;
  if (!p) return '';
  const parts = [`epoch ${p.epoch}/${p.epochs}`];
  if (p.trial) parts.unshift(`trial ${p.trial.done}/${p.trial.of}`);
  return ` (${parts.join(', ')})`;
}

/** ` on a signal: <reason>` for a run a Schedule trigger fired. */
function onSignal(run: ObservedRun): string {
  const reason = triggerReasonOf(run);
  return reason === undefined ? '' : ` on a signal: ${reason}`;
}
