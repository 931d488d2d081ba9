/**
 * What apply asks of the provider for each change, as data: the provider method, its request and
 * the guard (apply-guards.ts) checked first. Pure, so the whole mapping can be read and tested
 * without a provider; `apply-executor.ts` carries a command out. Every decision was taken by the
 * plan: a command only reshapes the change's payload into the provider's request.
 */
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import { runRef } from '../../resources/address.js';
import type {
  AdoptRequest,
  CreateRunRequest,
  MoveAliasRequest,
  ObservedState,
  PutEndpointRequest,
  PutModelRequest,
  PutScheduleRequest,
  RegisterVersionRequest,
  RunRef,
  TriggerScheduleRequest,
} from '../../providers/provider.js';
import { guardOf, type Guard } from './apply-guards.js';
import type { TObject, TSchema } from '@sinclair/typebox';
import {
  ChangeSchema,
  type Change,
  type EndpointObject,
  type RunLaunch,
  type ScheduleObject,
} from './change.js';

/** The provider methods apply calls, by their path in `Provider`, and the request each takes. */
export interface ProviderRequests {
  'trainingRuns.create': CreateRunRequest;
  'trainingRuns.cancel': RunRef;
  'registeredModels.put': PutModelRequest;
  'registeredModels.delete': { name: string };
  'registeredModels.registerVersion': RegisterVersionRequest;
  'registeredModels.moveAlias': MoveAliasRequest;
  'registeredModels.deleteVersion': { model: string; version: number };
  'deployedEndpoints.put': PutEndpointRequest;
  'deployedEndpoints.delete': { name: string };
  'schedules.put': PutScheduleRequest;
  'schedules.delete': { name: string };
  'schedules.trigger': TriggerScheduleRequest;
  adopt: AdoptRequest;
}
export type ProviderMethod = keyof ProviderRequests;

/** One provider call: a method and its request (a union over the methods, so each pair type-checks). */
export type ProviderCall<M extends ProviderMethod = ProviderMethod> = {
  [K in M]: { method: K; request: ProviderRequests[K] };
}[M];

/**
 * A change as the provider calls that carry it out, in order (a replace cancels the old runs, then
 * creates): the executor stops at the first call that fails and keeps the warnings of the others.
 */
export interface Command {
  guard: Guard;
  calls: ProviderCall[];
}

/**
 * The command of a change; `command: null` without diagnostics means there is nothing to call
 * (noop, wait). A change no command exists for (a deferred one, or a kind and action the plan
 * format does not pair) is an error diagnostic for its resource, never a throw.
 */
export interface CommandFor {
  command: Command | null;
  diagnostics: Diagnostic[];
}

/** `state` is the observation the change was planned from: a registration sends the run as listed. */
export function commandFor(change: Change, state: ObservedState): CommandFor {
  if (!CHANGE_PAIRS.has(`${change.action} ${change.kind}`))
    return refused(change, 'no-command', `there is no provider command for ${change.action} ${change.kind}`);
  if (change.action === 'noop' || change.action === 'wait') return { command: null, diagnostics: [] };
  const guard = guardOf(change);
  if (!guard)
    return refused(change, 'deferred-change', 'it is known only after training; a later pass carries it out');
  const calls = callsFor(guard, state);
  if (calls === undefined)
    return refused(change, 'no-command', `there is no provider command for ${change.action} ${change.kind}`);
  if ('missing' in calls) return { command: { guard, calls: [] }, diagnostics: [calls.missing] };
  return { command: { guard, calls }, diagnostics: [] };
}

/**
 * By kind, then action: create and update of the same kind are one entry (the provider's `put`
 * creates or updates). `undefined` for a pair the plan format does not have.
 */
function callsFor(guard: Guard, state: ObservedState): ProviderCall[] | { missing: Diagnostic } | undefined {
  switch (guard.rule) {
    case 'declared': {
      const change = guard.change;
      switch (change.kind) {
        case 'TrainingRun': {
          const cancels = change.action === 'replace' ? change.before.cancel.map(cancelCall) : [];
          return [...cancels, { method: 'trainingRuns.create', request: createRunRequest(change.after) }];
        }
        case 'RegisteredModel':
          return [{ method: 'registeredModels.put', request: change.after }];
        case 'DeployedEndpoint':
          return [{ method: 'deployedEndpoints.put', request: putEndpointRequest(change.after) }];
        case 'Schedule':
          return [{ method: 'schedules.put', request: putScheduleRequest(change.after) }];
      }
      return undefined;
    }
    case 'cancel':
      return guard.change.kind === 'TrainingRun' ? [cancelCall(guard.change.before)] : undefined;
    case 'register': {
      const { model, run: ref } = guard.change.after;
      const run = state.runs.find((r) => r.name === ref.name && r.number === ref.number);
      if (!run) return { missing: error('run-missing', `run ${runRef(ref)} is no longer there`) };
      return [{ method: 'registeredModels.registerVersion', request: { model, run } }];
    }
    case 'adopt': {
      const { kind } = guard.change;
      return [{ method: 'adopt', request: { kind, ...guard.change.after } }];
    }
    case 'promote': {
      const { model, alias, version } = guard.change.after;
      return [{ method: 'registeredModels.moveAlias', request: { model, alias, version } }];
    }
    case 'delete': {
      const change = guard.change;
      switch (change.kind) {
        case 'RegisteredModel':
          return change.target === 'model'
            ? [{ method: 'registeredModels.delete', request: { name: change.before.name } }]
            : [
                {
                  method: 'registeredModels.deleteVersion',
                  request: { model: change.before.model, version: change.before.version },
                },
              ];
        case 'DeployedEndpoint':
          return [{ method: 'deployedEndpoints.delete', request: { name: change.before.name } }];
        case 'Schedule':
          return [{ method: 'schedules.delete', request: { name: change.before.name } }];
      }
      return undefined;
    }
    case 'fire': {
      const { name, signal } = guard.change.after;
      return [{ method: 'schedules.trigger', request: { name, reason: signal } }];
    }
  }
}

/** `action kind` of every change the plan format has (from its schema, so a new variant is known). */
export const CHANGE_PAIRS: ReadonlySet<string> = new Set(
  ChangeSchema.anyOf.flatMap((variant: TObject) =>
    literals(variant.properties.action).flatMap((action) =>
      literals(variant.properties.kind).map((kind) => `${action} ${kind}`),
    ),
  ),
);

function literals(schema: TSchema | undefined): string[] {
  if (schema === undefined) return [];
  if ('const' in schema) return [String(schema.const)];
  return Array.isArray(schema.anyOf) ? (schema.anyOf as TSchema[]).flatMap(literals) : [];
}

function refused(change: Change, code: string, why: string): CommandFor {
  return {
    command: null,
    diagnostics: [
      error(code, `cannot ${change.action} ${change.address}: ${why}`, { address: change.resource }),
    ],
  };
}

const cancelCall = (run: RunRef): ProviderCall => ({
  method: 'trainingRuns.cancel',
  request: { name: run.name, number: run.number },
});

/** Runs apply creates are the template's own: a schedule's runs are created by the provider. */
const createRunRequest = (after: RunLaunch): CreateRunRequest => ({ ...after, schedule: undefined });

/** Only entries whose version is known are sent (a deferred endpoint change is never executed). */
function putEndpointRequest(after: EndpointObject): PutEndpointRequest {
  const traffic = after.traffic.flatMap((t) =>
    t.version !== null && t.artifactUri !== null
      ? [{ version: t.version, percent: t.percent, artifactUri: t.artifactUri }]
      : [],
  );
  return {
    name: after.name,
    spec: after.spec,
    specHash: after.specHash,
    traffic,
    labels: after.labels,
    annotations: after.annotations,
  };
}

/** The template travels without its name: the provider launches it under the schedule. */
function putScheduleRequest(after: ScheduleObject): PutScheduleRequest {
  return {
    name: after.name,
    spec: after.spec,
    specHash: after.specHash,
    template: {
      spec: after.template.spec,
      specHash: after.template.specHash,
      manifestPath: after.template.manifestPath,
    },
    labels: after.labels,
    annotations: after.annotations,
  };
}
