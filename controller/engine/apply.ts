/**
 * Apply: execute a plan through a provider, then keep converging the way the controller does —
 * observe, plan, execute what can be done now — until nothing is left but waiting. Deferred changes
 * ("known after training") become concrete in a later pass, once the trainings they depend on have
 * finished. Changes run in dependency order with bounded parallelism; a failure stops only its own
 * resource and what depends on it.
 */
import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import { hasErrors, type Diagnostic } from '../../resources/diagnostic.js';
import { runRef, trainingRunAddress } from '../../resources/address.js';
import type { DesiredState } from '../../manifests/load.js';
import type { ObservedRun, ObservedState, Provider, ProviderContext } from '../../providers/provider.js';
import { ACTIVE_RUN_STATES } from '../../providers/provider.js';
import { isActionable, type Change, type Plan } from './change.js';
import { executeChange, type ExecutorEnv } from './apply-executor.js';
import { ApplyLedger } from './apply-ledger.js';
import { checkPlanClaim, checkPlanFresh } from './fingerprint.js';
import { checkPlanPaths } from './plan-file.js';
import { observe, type Observation } from './observe.js';
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
  const signal = applySignal(options);
  const ledger = new ApplyLedger(options.onEvent ?? (() => {}), options.filter);
  const maxPasses = options.maxPasses ?? 50;
  // A saved plan keeps the options it was made with in every pass (the operator's policy still applies).
  const planOptions: PlanOptions | undefined = options.saved
    ? { ...options.planOptions, ...options.saved.options }
    : options.planOptions;
  /** Observes, and plans from what it saw; undefined when an observation error blocks the apply. */
  const observeAndPlan = async (): Promise<{ observed: Observation; plan: Plan } | undefined> => {
    const observed = await observe(provider, ctx);
    if (!ledger.noteObservation(observed.diagnostics)) return undefined;
    ledger.final = { observed, plan: makePlan(desired, observed.state, planOptions) };
    return ledger.final;
  };

  let observed = await observe(provider, ctx);
  if (!ledger.noteObservation(observed.diagnostics, true)) return ledger.finish(false);
  const first = options.saved
    ? await checkSavedPlan(options.saved, options, observed.state, planOptions)
    : { plan: makePlan(desired, observed.state, planOptions), refused: [] };
  if (!first.plan) return ledger.finish(false, first.refused);
  // With a saved plan, later passes only carry out the follow-ups of what that plan changes.
  const scope = options.saved && new Set(options.saved.changes.filter(isActionable).map((c) => c.resource));
  const inScope = (c: Change) => (!scope || scope.has(c.resource)) && !ledger.hasFailed(c.resource);
  const narrow = (p: Plan): Plan => ({ ...p, changes: p.changes.filter(inScope) });
  let current = first.plan;
  // Resources adopted by this apply (`import:`): later passes must not delete what they adopted.
  const adopting = new Set<string>();

  for (let pass = 1; pass <= maxPasses && !signal?.aborted; pass++) {
    if (hasErrors(current.diagnostics)) return ledger.finish(false, current.diagnostics);
    options.onEvent?.({ type: 'plan', plan: current, pass });
    for (const c of current.changes) if (c.action === 'adopt') adopting.add(c.resource);
    const executed = await executePass(
      current,
      observed.state,
      ledger,
      options,
      signal,
      planOptions,
      adopting,
    );
    const next = await observeAndPlan();
    if (!next) return ledger.finish(false);
    observed = next.observed;
    const ready = next.plan.changes.filter(
      (c) => inScope(c) && isActionable(c) && !isDeferred(c) && ledger.allowed(c),
    );
    if (ready.length > 0 && (executed > 0 || pass === 1)) {
      current = narrow(next.plan);
      continue;
    }
    const waitingFor = (options.wait ?? true) ? activeRunsAwaited(next.plan, observed.state, inScope) : [];
    if (waitingFor.length === 0) break;
    await waitForRuns(waitingFor, options, signal);
    const afterWait = await observeAndPlan();
    if (!afterWait) return ledger.finish(false);
    observed = afterWait.observed;
    current = narrow(afterWait.plan);
  }
  return ledger.finish(ledger.clean && !signal?.aborted);
}

/** Stops on the caller's signal and on the context's (the apply lock's: engine/apply-lock.ts). */
function applySignal(options: ApplyOptions): AbortSignal | undefined {
  const signals = [...new Set([options.signal, options.ctx.signal])].filter(
    (s): s is AbortSignal => s !== undefined,
  );
  // Every change in flight (and the provider calls it makes) listens on the one signal: more than
  // Node's default of 10 is expected, not a leak.
  const listeners = Math.max(20, 4 * (options.parallelism ?? 10));
  for (const s of signals) setMaxListeners(listeners, s);
  if (signals.length <= 1) return signals[0];
  const either = AbortSignal.any(signals);
  setMaxListeners(listeners, either);
  return either;
}

/**
 * `apply PLANFILE`: the file is a claim, not a program. Fresh, with paths inside the tree, and
 * planned again from the same manifests and state (under the operator's policy on deletes, which
 * may postdate it) it must come out the same; then the fresh copy is carried out (current progress
 * and reasons).
 */
async function checkSavedPlan(
  saved: Plan,
  options: ApplyOptions,
  state: ObservedState,
  planOptions: PlanOptions | undefined,
): Promise<{ plan?: Plan; refused: Diagnostic[] }> {
  const stale = checkPlanFresh(saved, options.desired, state);
  if (hasErrors(stale)) return { refused: stale };
  const outside = await checkPlanPaths(
    saved,
    options.desired.treeRoot,
    options.savedFile ?? 'the saved plan',
  );
  if (outside.length > 0) return { refused: outside };
  const again = makePlan(options.desired, state, planOptions);
  if (hasErrors(again.diagnostics))
    return { refused: again.diagnostics.filter((d) => d.severity === 'error') };
  const tampered = checkPlanClaim(saved, again);
  if (hasErrors(tampered)) return { refused: tampered };
  return { plan: again, refused: [] };
}

/**
 * Carries out the plan's ready changes as a DAG (each after the changes it depends on), at most
 * `parallelism` at once; returns how many were carried out.
 */
async function executePass(
  p: Plan,
  state: ObservedState,
  ledger: ApplyLedger,
  options: ApplyOptions,
  signal: AbortSignal | undefined,
  planOptions: PlanOptions | undefined,
  adopting: ReadonlySet<string>,
): Promise<number> {
  const limit = pLimit(options.parallelism ?? 10);
  const env: ExecutorEnv = {
    provider: options.provider,
    ctx: options.ctx,
    desired: options.desired,
    state,
    destroy: planOptions?.destroy ?? false,
    adopting,
  };
  const aborted = () => signal?.aborted ?? false;
  let count = 0;
  await inDependencyOrder(p.changes, async (change, dependenciesOk) => {
    if (!isActionable(change)) return true;
    if (!ledger.admit(change, dependenciesOk, isDeferred(change), aborted)) return false;
    return limit(async () => {
      // Checked again once a slot is free: a change queued behind others must not start after
      // a cancel or a lost apply lock (engine/apply-lock.ts).
      if (aborted()) return false;
      options.onEvent?.({ type: 'start', change });
      const outcome = await executeChange(change, env);
      ledger.record(change, outcome);
      if (!outcome.failed) count++;
      return !outcome.failed;
    });
  });
  return count;
}

/**
 * Visits every change once, after the changes of the list it depends on, with whether they all
 * succeeded; a visit returns whether its change did (and so whether its dependents may go ahead).
 */
async function inDependencyOrder(
  changes: readonly Change[],
  visit: (change: Change, dependenciesOk: boolean) => Promise<boolean>,
): Promise<void> {
  const byAddress = new Map(changes.map((c) => [c.address, c]));
  const done = new Map<string, Promise<boolean>>();
  const run = (change: Change): Promise<boolean> => {
    const existing = done.get(change.address);
    if (existing) return existing;
    const promise = (async () => {
      const deps = await Promise.all(
        change.dependsOn
          .map((a) => byAddress.get(a))
          .filter((c): c is Change => c !== undefined)
          .map(run),
      );
      return visit(change, deps.every(Boolean));
    })();
    done.set(change.address, promise);
    return promise;
  };
  await Promise.all(changes.map(run));
}

/** Polls the runs until none of them is active any more (or they vanish from the listing). */
async function waitForRuns(runs: ObservedRun[], options: ApplyOptions, signal: AbortSignal | undefined) {
  const pending = new Set(runs.map(runRef));
  while (pending.size > 0 && !signal?.aborted) {
    await sleep(options.pollMs ?? 1000, signal);
    const { items } = await options.provider.trainingRuns.list(options.ctx);
    const watched = items.filter((r) => pending.has(runRef(r)));
    options.onEvent?.({ type: 'progress', runs: watched });
    for (const r of watched) if (!ACTIVE_RUN_STATES.includes(r.state)) pending.delete(runRef(r));
    // A run that vanished from the listing is not worth waiting for.
    for (const key of [...pending]) if (!watched.some((r) => runRef(r) === key)) pending.delete(key);
  }
}

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
  const active = state.runs.filter((r) => ACTIVE_RUN_STATES.includes(r.state));
  return active
    .filter((r) => resources.has(trainingRunAddress(r.name)))
    .concat(
      // Deferred registrations and endpoints wait on the runs of the models they belong to.
      active.filter(
        (r) =>
          !resources.has(trainingRunAddress(r.name)) &&
          p.changes.some(
            (c) => c.action === 'register' && c.after.deferred && c.after.run.name === r.name && inScope(c),
          ),
      ),
    );
}
