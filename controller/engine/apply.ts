/**
 * Apply: execute a plan through a provider, then keep converging the way the controller does —
 * observe, plan, execute what can be done now — until nothing is left but waiting. Deferred changes
 * ("known after training") become concrete in a later pass, once the trainings they depend on have
 * finished. Changes run in dependency order with bounded parallelism; a failure stops only its own
 * resource and what depends on it.
 */
import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import { error, hasErrors, type Diagnostic } from '../../resources/diagnostic.js';
import type { DesiredState } from '../../manifests/load.js';
import type {
  ObservedRun,
  ObservedState,
  Provider,
  ProviderContext,
  Response,
} from '../../providers/provider.js';
import { ACTIVE_RUN_STATES } from '../../providers/provider.js';
import { isActionable, type Change, type Plan } from './change.js';
import { guardChange } from './apply-guards.js';
import { checkPlanClaim, checkPlanFresh } from './fingerprint.js';
import { checkPlanPaths } from './plan-file.js';
import { observationBlocks, observe, type Observation } from './observe.js';
import { plan as makePlan, type PlanOptions } from './plan.js';

export type ApplyEvent =
  | { type: 'plan'; plan: Plan; pass: number }
  | { type: 'start'; change: Change }
  | { type: 'done'; change: Change; detail?: string }
  | { type: 'failed'; change: Change; diagnostics: Diagnostic[] }
  | { type: 'skipped'; change: Change; reason: string }
  | { type: 'progress'; runs: ObservedRun[] }
  | { type: 'finished'; ok: boolean; applied: number; failed: number };

export interface ApplyOptions {
  provider: Provider;
  ctx: ProviderContext;
  desired: DesiredState;
  planOptions?: PlanOptions;
  /**
   * `apply PLANFILE`: apply exactly this plan (and the follow-ups it defers). Refused when stale, when
   * a path in it lies outside the tree root, or when its changes are not the ones planned again now.
   */
  saved?: Plan;
  /** Where the saved plan was read from, for messages. */
  savedFile?: string;
  /** Wait for trainings, then register, promote and roll out what they produce (default true). */
  wait?: boolean;
  parallelism?: number;
  onEvent?: (event: ApplyEvent) => void;
  signal?: AbortSignal;
  /** Between observations while waiting for trainings. */
  pollMs?: number;
  /** Safety net: a provider that never converges must not loop forever. */
  maxPasses?: number;
  /**
   * Which actionable changes may be carried out now (default: all). The controller leaves out drift
   * corrections without self-heal and resources in retry backoff; a change left out is reported as
   * `skipped` and blocks what depends on it, like a failure, but does not count as one.
   */
  filter?: (change: Change) => boolean;
}

export interface ApplyResult {
  ok: boolean;
  applied: number;
  failed: string[];
  diagnostics: Diagnostic[];
  /**
   * The observation apply ended with and the full plan made from it (not narrowed to a saved plan's
   * scope): what a caller reports without listing everything again. Absent when apply stopped
   * before it could observe and plan after acting (unreadable state, a refused saved plan).
   */
  final?: { observed: Observation; plan: Plan };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    // The listener goes with the timer: a long wait polls many times on one signal.
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export async function apply(options: ApplyOptions): Promise<ApplyResult> {
  const { provider, ctx, desired } = options;
  // Stops on the caller's signal and on the context's (the apply lock's: engine/apply-lock.ts).
  const signals = [...new Set([options.signal, ctx.signal])].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  const emit = options.onEvent ?? (() => {});
  const wait = options.wait ?? true;
  const maxPasses = options.maxPasses ?? 50;
  const diagnostics: Diagnostic[] = [];
  const failedResources = new Set<string>();
  /** How often each address was carried out: one that keeps coming back is not converging. */
  const attempts = new Map<string, number>();
  let applied = 0;
  // Every change in flight (and the provider calls it makes) listens on the one signal: more than
  // Node's default of 10 is expected, not a leak.
  for (const s of signals) {
    if (s) setMaxListeners(Math.max(20, 4 * (options.parallelism ?? 10)), s);
  }

  /** Resources whose actual state could not be read (observe.ts): never acted on in this apply. */
  const damaged = new Map<string, Diagnostic[]>();
  const seen = new Set<string>();
  /** Records an observation's diagnostics; false when an error blocks the whole apply. */
  const noteObservation = (found: readonly Diagnostic[], first = false): boolean => {
    for (const d of found) {
      // Later observations add only errors not reported yet (a record damaged mid-apply).
      const key = `${d.code ?? ''}\u0000${d.address ?? ''}\u0000${d.message}`;
      if (first || (d.severity === 'error' && !seen.has(key))) diagnostics.push(d);
      seen.add(key);
    }
    const blocks = observationBlocks(found);
    for (const [address, ds] of blocks.resources) damaged.set(address, ds);
    return blocks.whole.length === 0;
  };

  let observed = await observe(provider, ctx);
  let final: ApplyResult['final'];
  if (!noteObservation(observed.diagnostics, true)) return finish(false, diagnostics);
  let current: Plan;
  // A saved plan keeps the options it was made with in every pass (the operator's policy still applies).
  const planOptions: PlanOptions | undefined = options.saved
    ? { ...options.planOptions, ...options.saved.options }
    : options.planOptions;
  if (options.saved) {
    const saved = options.saved;
    const stale = checkPlanFresh(saved, desired, observed.state);
    if (hasErrors(stale)) return finish(false, [...diagnostics, ...stale]);
    const outside = await checkPlanPaths(saved, desired.treeRoot, options.savedFile ?? 'the saved plan');
    if (outside.length > 0) return finish(false, [...diagnostics, ...outside]);
    // The file is a claim, not a program: planned again from the same manifests and state (under
    // the operator's policy on deletes, which may postdate it), it must come out the same.
    const again = makePlan(desired, observed.state, planOptions);
    if (hasErrors(again.diagnostics)) {
      const errors = again.diagnostics.filter((d) => d.severity === 'error');
      return finish(false, [...diagnostics, ...errors]);
    }
    const tampered = checkPlanClaim(saved, again);
    if (hasErrors(tampered)) return finish(false, [...diagnostics, ...tampered]);
    // Equal but for what is only shown: carry out the fresh copy (current progress and reasons).
    current = again;
  } else {
    current = makePlan(desired, observed.state, planOptions);
  }
  // With a saved plan, later passes only carry out the follow-ups of what that plan changes.
  const scope = options.saved
    ? new Set(options.saved.changes.filter(isActionable).map((c) => c.resource))
    : undefined;

  for (let pass = 1; pass <= maxPasses && !signal?.aborted; pass++) {
    if (hasErrors(current.diagnostics)) return finish(false, [...diagnostics, ...current.diagnostics]);
    emit({ type: 'plan', plan: current, pass });
    const executed = await execute(current, observed.state);
    observed = await observe(provider, ctx);
    if (!noteObservation(observed.diagnostics)) return finish(false, diagnostics);
    const next = makePlan(desired, observed.state, planOptions);
    final = { observed, plan: next };
    const inScope = (c: Change) => (!scope || scope.has(c.resource)) && !failedResources.has(c.resource);
    const ready = next.changes.filter((c) => inScope(c) && isActionable(c) && !isDeferred(c) && allowed(c));
    if (ready.length > 0 && (executed > 0 || pass === 1)) {
      current = { ...next, changes: next.changes.filter(inScope) };
      continue;
    }
    const waitingFor = wait ? activeRunsAwaited(next, observed.state, inScope) : [];
    if (waitingFor.length === 0) break;
    await waitForRuns(waitingFor);
    observed = await observe(provider, ctx);
    if (!noteObservation(observed.diagnostics)) return finish(false, diagnostics);
    const afterWait = makePlan(desired, observed.state, planOptions);
    final = { observed, plan: afterWait };
    current = { ...afterWait, changes: afterWait.changes.filter(inScope) };
  }
  return finish(failedResources.size === 0 && damaged.size === 0 && !signal?.aborted, diagnostics);

  function allowed(change: Change): boolean {
    return options.filter ? options.filter(change) : true;
  }

  function finish(ok: boolean, all: Diagnostic[]): ApplyResult {
    emit({ type: 'finished', ok, applied, failed: failedResources.size });
    return { ok, applied, failed: [...failedResources], diagnostics: all, ...(final && { final }) };
  }

  /** Runs the plan's executable changes as a DAG; returns how many were carried out. */
  async function execute(p: Plan, state: ObservedState): Promise<number> {
    const limit = pLimit(options.parallelism ?? 10);
    const done = new Map<string, Promise<boolean>>();
    const byAddress = new Map(p.changes.map((c) => [c.address, c]));
    let count = 0;
    const run = (change: Change): Promise<boolean> => {
      const existing = done.get(change.address);
      if (existing) return existing;
      const promise = (async () => {
        const deps = await Promise.all(
          change.dependsOn
            .map((a) => byAddress.get(a))
            .filter(isChange)
            .map(run),
        );
        if (!isActionable(change)) return true;
        if (failedResources.has(change.resource)) {
          emit({ type: 'skipped', change, reason: `${change.resource} failed earlier in this apply` });
          return false;
        }
        if (deps.some((ok) => !ok) || isDeferred(change)) {
          // Deferred or blocked: a later pass does it once what it waits for is there.
          return false;
        }
        if (!allowed(change)) {
          emit({ type: 'skipped', change, reason: 'left out by the apply filter' });
          return false;
        }
        const damage = damaged.get(change.resource);
        if (damage) {
          // Its state could not be read: the plan's "create" is an artefact of that, never acted on.
          failedResources.add(change.resource);
          emit({ type: 'failed', change, diagnostics: damage });
          return false;
        }
        if (signal?.aborted) return false;
        if ((attempts.get(change.address) ?? 0) >= 2) {
          failedResources.add(change.resource);
          const d = error(
            'not-converging',
            `${change.address} was applied twice and is still not in the desired state`,
            {
              address: change.resource,
              hint: 'check the resource with `mlform describe` and its logs; the provider may be reporting stale state',
            },
          );
          diagnostics.push(d);
          emit({ type: 'failed', change, diagnostics: [d] });
          return false;
        }
        attempts.set(change.address, (attempts.get(change.address) ?? 0) + 1);
        return limit(async () => {
          // Checked again once a slot is free: a change queued behind others must not start after
          // a cancel or a lost apply lock (engine/apply-lock.ts).
          if (signal?.aborted) return false;
          emit({ type: 'start', change });
          const response = await guardedChange(change, state).catch((e: unknown): Response => ({
            diagnostics: [
              error('provider-error', `${change.address}: ${e instanceof Error ? e.message : String(e)}`),
            ],
          }));
          if (hasErrors(response.diagnostics)) {
            failedResources.add(change.resource);
            diagnostics.push(
              ...response.diagnostics.map((d) => ({ ...d, address: d.address ?? change.resource })),
            );
            emit({ type: 'failed', change, diagnostics: response.diagnostics });
            return false;
          }
          diagnostics.push(...response.diagnostics);
          applied++;
          count++;
          emit({ type: 'done', change });
          return true;
        });
      })();
      done.set(change.address, promise);
      return promise;
    };
    await Promise.all(p.changes.map(run));
    return count;
  }

  /** The execution-time rules (apply-guards.ts) first; a refused change fails its resource. */
  async function guardedChange(change: Change, state: ObservedState): Promise<Response> {
    const listed =
      <T>(list: () => Promise<Response & { items: T[] }>) =>
      async (): Promise<T[]> => {
        const { items, diagnostics: found } = await list();
        if (hasErrors(found)) throw new Error(found.map((d) => d.message).join('; '));
        return items;
      };
    const refused = await guardChange(change, {
      desired,
      state,
      destroy: planOptions?.destroy ?? false,
      registry: listed(() => provider.registeredModels.list(ctx)),
      endpoints: listed(() => provider.deployedEndpoints.list(ctx)),
    });
    if (refused.length > 0) return { diagnostics: refused };
    return executeChange(change, state);
  }

  async function executeChange(change: Change, state: ObservedState): Promise<Response> {
    switch (change.action) {
      case 'create':
        switch (change.kind) {
          case 'TrainingRun':
            return provider.trainingRuns.create(ctx, { ...change.after, schedule: undefined });
          case 'RegisteredModel':
            return provider.registeredModels.put(ctx, change.after);
          case 'DeployedEndpoint':
            return putEndpoint(change.after);
          case 'Schedule':
            return putSchedule(change.after);
        }
        break;
      case 'update':
        switch (change.kind) {
          case 'RegisteredModel':
            return provider.registeredModels.put(ctx, change.after);
          case 'DeployedEndpoint':
            return putEndpoint(change.after);
          case 'Schedule':
            return putSchedule(change.after);
        }
        break;
      case 'replace': {
        // Warnings of the cancels (a process left alone because it is not provably ours) are kept.
        const warnings: Diagnostic[] = [];
        for (const run of change.before.cancel) {
          const cancelled = await provider.trainingRuns.cancel(ctx, { name: run.name, number: run.number });
          if (hasErrors(cancelled.diagnostics)) return cancelled;
          warnings.push(...cancelled.diagnostics);
        }
        const created = await provider.trainingRuns.create(ctx, { ...change.after, schedule: undefined });
        return { ...created, diagnostics: [...warnings, ...created.diagnostics] };
      }
      case 'cancel':
        return provider.trainingRuns.cancel(ctx, { name: change.before.name, number: change.before.number });
      case 'delete':
        switch (change.kind) {
          case 'RegisteredModel':
            return change.target === 'model'
              ? provider.registeredModels.delete(ctx, { name: change.before.name })
              : provider.registeredModels.deleteVersion(ctx, {
                  model: change.before.model,
                  version: change.before.version,
                });
          case 'DeployedEndpoint':
            return provider.deployedEndpoints.delete(ctx, { name: change.before.name });
          case 'Schedule':
            return provider.schedules.delete(ctx, { name: change.before.name });
        }
        break;
      case 'register': {
        if (change.after.deferred) break;
        const ref = change.after.run;
        const run = state.runs.find((r) => r.name === ref.name && r.number === ref.number);
        if (!run)
          return { diagnostics: [error('run-missing', `run ${ref.name}#${ref.number} is no longer there`)] };
        return provider.registeredModels.registerVersion(ctx, { model: change.after.model, run });
      }
      case 'promote':
        if (change.after.deferred) break;
        return provider.registeredModels.moveAlias(ctx, {
          model: change.after.model,
          alias: change.after.alias,
          version: change.after.version,
        });
      case 'wait':
      case 'noop':
        break;
    }
    return { diagnostics: [] };
  }

  function putEndpoint(after: Extract<Change, { kind: 'DeployedEndpoint'; action: 'create' }>['after']) {
    const traffic = after.traffic.flatMap((t) =>
      t.version !== null && t.artifactUri !== null
        ? [{ version: t.version, percent: t.percent, artifactUri: t.artifactUri }]
        : [],
    );
    return provider.deployedEndpoints.put(ctx, {
      name: after.name,
      spec: after.spec,
      specHash: after.specHash,
      traffic,
      labels: after.labels,
      annotations: after.annotations,
    });
  }

  function putSchedule(after: Extract<Change, { kind: 'Schedule'; action: 'create' }>['after']) {
    return provider.schedules.put(ctx, {
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
    });
  }

  async function waitForRuns(runs: ObservedRun[]): Promise<void> {
    const pending = new Set(runs.map((r) => `${r.name}#${r.number}`));
    while (pending.size > 0 && !signal?.aborted) {
      await sleep(options.pollMs ?? 1000, signal);
      const { items } = await provider.trainingRuns.list(ctx);
      const watched = items.filter((r) => pending.has(`${r.name}#${r.number}`));
      emit({ type: 'progress', runs: watched });
      for (const r of watched)
        if (!ACTIVE_RUN_STATES.includes(r.state)) pending.delete(`${r.name}#${r.number}`);
      // A run that vanished from the listing is not worth waiting for.
      for (const key of [...pending])
        if (!watched.some((r) => `${r.name}#${r.number}` === key)) pending.delete(key);
    }
  }
}

const isChange = (c: Change | undefined): c is Change => c !== undefined;

/** Known only after training: a later pass turns it into a concrete change. */
function isDeferred(change: Change): boolean {
  if (change.action === 'register' || change.action === 'promote') return change.after.deferred;
  if ((change.action === 'create' || change.action === 'update') && change.kind === 'DeployedEndpoint') {
    return change.after.trafficDeferred;
  }
  return false;
}

/** Runs that deferred changes (or waits) of the plan are waiting for. */
function activeRunsAwaited(p: Plan, state: ObservedState, inScope: (c: Change) => boolean): ObservedRun[] {
  const resources = new Set(
    p.changes.filter((c) => inScope(c) && (c.action === 'wait' || isDeferred(c))).map((c) => c.resource),
  );
  if (resources.size === 0) return [];
  return state.runs
    .filter((r) => ACTIVE_RUN_STATES.includes(r.state) && resources.has(`TrainingRun/${r.name}`))
    .concat(
      // Deferred registrations and endpoints wait on the runs of the models they belong to.
      state.runs.filter(
        (r) =>
          ACTIVE_RUN_STATES.includes(r.state) &&
          !resources.has(`TrainingRun/${r.name}`) &&
          p.changes.some(
            (c) => c.action === 'register' && c.after.deferred && c.after.run.name === r.name && inScope(c),
          ),
      ),
    );
}
