/**
 * Prune and destroy: managed objects whose manifests are gone (or, with `destroy`, everything of
 * the stack) are deleted; runs in flight are cancelled, finished runs stay as history. An object
 * marked `mlform/prevent-destroy: "true"` (on the object, or on its manifest) is never planned for
 * deletion: it fails the plan with an error that says how to proceed. The operator's policy can
 * forbid prune or destroy altogether (`allowPrune`, `allowDestroy`): the deletes are then replaced
 * by errors, so the plan fails rather than silently keeping or deleting anything.
 */
import {
  deployedEndpointAddress,
  registeredModelAddress,
  runAddress,
  runRef,
  scheduleAddress,
  trainingRunAddress,
} from '../../resources/address.js';
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import { PREVENT_DESTROY_ANNOTATION } from '../../resources/metadata.js';
import type { ObservedRun } from '../../providers/provider.js';
import { wholeFields } from './field-diff.js';
import { policyError } from './policy.js';
import { PHASE, activeRun, addChange, at, isActive, isProtected, type PlanContext } from './plan-context.js';

export function planPrune(ctx: PlanContext): void {
  if (!ctx.destroy && !ctx.prune) return;
  const first = ctx.changes.length;
  planDeletes(ctx);
  const deletes = ctx.deletes;
  if (!deletes) return;
  if (ctx.destroy && !deletes.destroy) {
    ctx.changes.splice(first);
    ctx.diagnostics.push(
      policyError('allowDestroy', 'destroy is not allowed (allowDestroy: false)', deletes.file, {
        hint: `the operator's policy forbids destroying the stack; delete resources by removing their manifests${deletes.prune ? '' : ' (where prune is allowed)'}, or ask the operator to change ${deletes.file}`,
      }),
    );
    return;
  }
  if (!ctx.destroy && !deletes.prune) {
    for (const { change } of ctx.changes.splice(first)) {
      ctx.diagnostics.push(
        policyError(
          'allowPrune',
          `${change.address} would be ${change.action === 'cancel' ? 'cancelled' : 'deleted'} (${change.reason}), but prune is not allowed (allowPrune: false)`,
          deletes.file,
          {
            address: change.address,
            hint: 'restore its manifest, or plan with --no-prune to leave it alone; the operator can delete it by hand',
          },
        ),
      );
    }
  }
}

function planDeletes(ctx: PlanContext): void {
  const reason = ctx.destroy ? 'destroy' : 'no longer in the manifests';
  /** Still desired (and so not a target), unless everything goes. */
  const kept = (address: string) => !ctx.destroy && ctx.desired.byAddress.has(address);
  const guarded = (address: string, annotations: Readonly<Record<string, string>>) =>
    isProtected(annotations) ||
    isProtected(ctx.desired.byAddress.get(address)?.manifest.metadata.annotations);
  const refuse = (address: string, what: string, hint?: string): Diagnostic =>
    error('prevent-destroy', `${address} has ${PREVENT_DESTROY_ANNOTATION}: ${what}`, {
      address,
      ...at(ctx.desired.byAddress.get(address), ['metadata', 'annotations', PREVENT_DESTROY_ANNOTATION]),
      ...(hint ? { hint } : {}),
    });
  const removeFirst = 'remove the annotation (and apply) before deleting it';

  // Endpoints first: a model must not vanish under a live endpoint.
  const deletedEndpoints = new Map<string, string[]>();
  const protectedEndpoints = new Map<string, string[]>();
  for (const endpoint of ctx.observed.endpoints.values()) {
    const address = deployedEndpointAddress(endpoint.name);
    if (kept(address)) continue;
    const byModel = guarded(address, endpoint.annotations) ? protectedEndpoints : deletedEndpoints;
    byModel.set(endpoint.model, [...(byModel.get(endpoint.model) ?? []), address]);
    if (byModel === protectedEndpoints) {
      ctx.diagnostics.push(refuse(address, removeFirst));
      continue;
    }
    addChange(ctx, PHASE.deleteEndpoint, {
      action: 'delete',
      kind: 'DeployedEndpoint',
      address,
      resource: address,
      reason,
      fields: wholeFields(endpoint.spec, 'spec', 'delete'),
      dependsOn: [],
      before: { name: endpoint.name, specHash: endpoint.specHash, model: endpoint.model },
      after: null,
    });
  }

  // Schedules before their runs, so that nothing fires while those are cancelled.
  const deletedSchedules = new Set<string>();
  const protectedSchedules = new Set<string>();
  for (const schedule of ctx.observed.schedules.values()) {
    const address = scheduleAddress(schedule.name);
    if (kept(address)) continue;
    if (guarded(address, schedule.annotations)) {
      protectedSchedules.add(schedule.name);
      ctx.diagnostics.push(refuse(address, removeFirst));
      continue;
    }
    deletedSchedules.add(schedule.name);
    addChange(ctx, PHASE.deleteSchedule, {
      action: 'delete',
      kind: 'Schedule',
      address,
      resource: address,
      reason,
      fields: wholeFields(schedule.spec, 'spec', 'delete'),
      dependsOn: [],
      before: { name: schedule.name, specHash: schedule.specHash },
      after: null,
    });
  }

  const names = [...ctx.observed.runsByName.keys()].sort();
  for (const name of names) {
    const resource = trainingRunAddress(name);
    for (const run of ctx.observed.runsByName.get(name) ?? []) {
      if (!isActive(run) || !runIsTarget(run)) continue;
      const address = runAddress(run);
      if (guarded(resource, run.annotations)) {
        ctx.diagnostics.push(
          refuse(
            address,
            `${runRef(run)} is ${run.state} and would be cancelled`,
            `wait until it finishes, or cancel it yourself with \`mlform cancel trainingrun/${name}\``,
          ),
        );
        continue;
      }
      addChange(ctx, PHASE.cancelRun, {
        action: 'cancel',
        kind: 'TrainingRun',
        address,
        resource,
        reason: run.schedule ? `${reason} (fired by ${scheduleAddress(run.schedule)})` : reason,
        fields: [],
        dependsOn: run.schedule && deletedSchedules.has(run.schedule) ? [scheduleAddress(run.schedule)] : [],
        before: activeRun(run),
        after: null,
      });
    }
  }

  for (const model of ctx.observed.models.values()) {
    const address = registeredModelAddress(model.name);
    if (kept(address)) continue;
    if (guarded(address, model.annotations)) {
      ctx.diagnostics.push(refuse(address, removeFirst));
      continue;
    }
    const servedBy = protectedEndpoints.get(model.name);
    if (servedBy) {
      ctx.diagnostics.push(
        error(
          'prevent-destroy',
          `${address} cannot be deleted: ${servedBy.join(', ')} serves it and has ${PREVENT_DESTROY_ANNOTATION}`,
          { address, hint: `remove the annotation from ${servedBy.join(', ')} (and apply) first` },
        ),
      );
      continue;
    }
    addChange(ctx, PHASE.deleteModel, {
      action: 'delete',
      kind: 'RegisteredModel',
      target: 'model',
      address,
      resource: address,
      reason: `${reason}; deletes its ${model.versions.length} version${model.versions.length === 1 ? '' : 's'}`,
      fields: wholeFields(model.spec, 'spec', 'delete'),
      dependsOn: deletedEndpoints.get(model.name) ?? [],
      before: { name: model.name, specHash: model.specHash, versions: model.versions.map((v) => v.version) },
      after: null,
    });
  }

  /**
   * A scheduled run belongs to its schedule: cancelled when the schedule goes (unless the schedule
   * is protected and stays). A run of the template itself goes with the template.
   */
  function runIsTarget(run: ObservedRun): boolean {
    if (run.schedule) return !kept(scheduleAddress(run.schedule)) && !protectedSchedules.has(run.schedule);
    return !kept(trainingRunAddress(run.name));
  }
}
