/** `mlform apply` and `mlform destroy`: plan, confirm, then converge under the apply lock. */
import { error } from '../../../resources/diagnostic.js';
import { apply } from '../../engine/apply.js';
import { withApplyLock } from '../../engine/apply-lock.js';
import type { ProviderContext } from '../../../providers/provider.js';
import { hasChanges, isApplicable, type Plan } from '../../engine/change.js';
import { observationBlocks, observe } from '../../engine/observe.js';
import { plan as makePlan, type PlanOptions } from '../../engine/plan.js';
import { policyDeletes } from '../../engine/policy.js';
import { isSavedPlanFile, loadPlanFile } from '../../engine/plan-file.js';
import { createPlanTextView } from '../../ui/plan-text.js';
import { defineCommand, type OptionDefinition } from '../command.js';
import type { CommandContext } from '../context.js';
import { lockHolder, openProject, type LoadedProjectContext } from '../project.js';
import { OPERATOR_OPTIONS, operatorSettings, type OperatorFlags } from '../operator.js';
import { failed, printProblems } from '../problems.js';
import { applyReporter, printEndpoints } from '../apply-output.js';
import { failedRolloutOf, type Notifier } from '../../notify/notifier.js';
import { drainLines, notifierFor } from '../../notify/for-project.js';
import { NOTIFY_OPTIONS, notifyOperator, type NotifyFlags } from '../../notify/operator.js';
import type { FailedRollout } from '../../notify/derive.js';
import type { ObservedState } from '../../../providers/provider.js';

/** How long apply waits for notifications to go out before it exits (what is left stays queued). */
const NOTIFY_DRAIN_MS = 15_000;

interface ApplyOptions extends OperatorFlags, NotifyFlags {
  autoApprove?: boolean;
  wait: boolean;
  parallelism: string;
  json?: boolean;
  prune: boolean;
}

/** After the operator's flags, in both apply and destroy. */
const APPLY_OPTIONS: readonly OptionDefinition[] = [
  ...OPERATOR_OPTIONS,
  ...NOTIFY_OPTIONS,
  { flags: '-y, --auto-approve', description: 'do not ask for confirmation (required without a terminal)' },
  {
    flags: '--no-wait',
    description: 'return after launching trainings instead of waiting to register and deploy',
  },
  { flags: '--parallelism <n>', description: 'changes carried out at once', default: '10' },
  { flags: '--json', description: 'progress as JSON lines (one event per line)' },
];

export const applyCommand = defineCommand({
  name: 'apply',
  summary: 'make the actual state match the manifests',
  description:
    'Plan, ask for confirmation, then carry out the changes in dependency order: launch trainings,\n' +
    'wait for them, register the versions that pass the gate, move aliases, roll out endpoints.\n' +
    "Holds the stack's apply lock (a lease that expires if this process dies). With a saved plan\n" +
    '(`mlform plan --out FILE`), plans again and applies that plan only if its changes are the\n' +
    'same, byte for byte: a stale or edited file is refused.',
  arguments: [
    {
      syntax: '[paths...]',
      description: 'manifest files or directories; or a saved plan file (any name) followed by them',
    },
  ],
  options: [
    { flags: '--no-prune', description: 'keep managed resources whose manifests are gone' },
    ...APPLY_OPTIONS,
  ],
  examples: [
    'mlform apply examples/quickstart',
    'mlform apply --auto-approve --no-wait .',
    'mlform apply tfplan.json',
  ],
  handler: ([paths]: [string[]], options: ApplyOptions, ctx) => runApply(paths, options, false, ctx),
});

export const destroyCommand = defineCommand({
  name: 'destroy',
  summary: 'delete everything the stack manages',
  description:
    'Plan deleting every resource of the stack (endpoints, schedules, models with their versions;\n' +
    'running trainings are cancelled, finished runs stay as history). Resources annotated\n' +
    '`mlform/prevent-destroy: "true"` make the plan fail instead.',
  arguments: [{ syntax: '[paths...]', description: 'manifest files or directories (for mlform.yaml)' }],
  options: APPLY_OPTIONS,
  handler: ([paths]: [string[]], options: ApplyOptions, ctx) =>
    runApply(paths, { ...options, prune: true }, true, ctx),
});

/** SIGINT or SIGTERM stops queued changes (engine/apply.ts) and releases the lock. */
async function runApply(
  paths: string[],
  options: ApplyOptions,
  destroy: boolean,
  ctx: CommandContext,
): Promise<number> {
  const abort = new AbortController();
  const stopListening = ctx.onStopSignal(() => abort.abort());
  try {
    return await execute(paths, options, destroy, ctx, abort.signal);
  } finally {
    stopListening();
  }
}

/** The saved plan if any, the project, then the work under the stack's apply lock. */
async function execute(
  paths: string[],
  options: ApplyOptions,
  destroy: boolean,
  ctx: CommandContext,
  signal: AbortSignal,
): Promise<number> {
  let saved: Plan | undefined;
  // A saved plan is recognised by what it holds, whatever its name (plan-file.ts).
  if (!destroy && paths.length > 0 && (await isSavedPlanFile(paths[0]))) {
    const loaded = await loadPlanFile(paths[0]);
    if (!loaded.plan) return failed(ctx, loaded.diagnostics);
    saved = loaded.plan;
  }
  // A saved plan is applied against the same manifests (the paths after it, default: .).
  const opened = await openProject(saved ? paths.slice(1) : paths, {
    signal,
    operator: operatorSettings(options, ctx.env),
    ...(destroy && { providerChecks: false }),
  });
  if (!opened.project) return failed(ctx, opened.diagnostics);
  const project = opened.project;
  const notifier = notifierFor(
    project,
    await notifyOperator(options, ctx.env, project.policy?.policy.notificationHosts),
    ctx.env,
  );
  const run: ApplyRun = {
    ctx,
    project,
    options,
    destroy,
    saved,
    savedFile: saved && paths[0],
    planOptions: {
      destroy,
      prune: options.prune,
      ...(project.policy && { deletes: policyDeletes(project.policy) }),
    },
    notifier,
    failedRollouts: [],
  };
  const outcome = await withApplyLock(
    project.provider,
    project.providerCtx,
    { holder: lockHolder(), signal },
    async (locked) => {
      await notifier?.beforeApply(() => observedOrUndefined(project, locked.ctx));
      const code = await applyLocked(run, locked.ctx, locked.signal);
      // Recorded under the lock: the snapshot has one writer at a time (apply or a controller sync).
      // An unreadable state records nothing: a partial one would look like resources gone.
      const state = run.final?.state ?? (notifier && (await observedOrUndefined(project, locked.ctx)));
      if (notifier && state) {
        await notifier.record(state, {
          ...(run.final?.plan && { plan: run.final.plan }),
          failedRollouts: run.failedRollouts,
        });
      }
      return code;
    },
  );
  if (notifier) {
    const drained = await notifier.drainUntil(Date.now() + NOTIFY_DRAIN_MS, signal);
    for (const line of drainLines(drained)) ctx.printErr(line);
  }
  return outcome.status === 'done' ? outcome.value : failed(ctx, outcome.diagnostics);
}

/** The state as it is, or undefined when it cannot be read whole (nothing is derived from part of it). */
async function observedOrUndefined(
  project: LoadedProjectContext,
  providerCtx: ProviderContext,
): Promise<ObservedState | undefined> {
  const observed = await observe(project.provider, providerCtx);
  return observationBlocks(observed.diagnostics).whole.length > 0 ? undefined : observed.state;
}

/** One apply or destroy: what the steps under the lock share. */
interface ApplyRun {
  ctx: CommandContext;
  project: LoadedProjectContext;
  options: ApplyOptions;
  destroy: boolean;
  saved: Plan | undefined;
  savedFile: string | undefined;
  planOptions: PlanOptions;
  notifier: Notifier | undefined;
  /** What apply ended with, for notifications. */
  final?: { state: ObservedState; plan: Plan };
  failedRollouts: FailedRollout[];
}

async function applyLocked(
  run: ApplyRun,
  providerCtx: ProviderContext,
  signal: AbortSignal,
): Promise<number> {
  const { ctx, project, options } = run;
  if (!run.saved) {
    const previewed = await preview(run, providerCtx);
    if (previewed !== 'apply') return previewed;
  }
  const reporter = await applyReporter(ctx, Boolean(options.json));
  const result = await apply({
    provider: project.provider,
    ctx: providerCtx,
    desired: project.desired,
    planOptions: run.planOptions,
    saved: run.saved,
    ...(run.savedFile !== undefined && { savedFile: run.savedFile }),
    wait: options.wait,
    parallelism: Math.max(1, Number.parseInt(options.parallelism, 10) || 10),
    onEvent: (event) => {
      if (event.type === 'failed') {
        const failure = failedRolloutOf(event.change, event.diagnostics.map((d) => d.message).join('; '));
        if (failure) run.failedRollouts.push(failure);
      }
      reporter.emit(event);
    },
    signal,
  });
  if (result.final) run.final = { state: result.final.observed.state, plan: result.final.plan };
  await reporter.done();
  printProblems(ctx, result.diagnostics);
  if (result.ok && !options.json) await printEndpoints(ctx, project.provider, project.providerCtx);
  return result.ok ? 0 : 1;
}

/** Observes, shows the plan and asks: 'apply' to go on, else the exit status to stop with. */
async function preview(run: ApplyRun, providerCtx: ProviderContext): Promise<'apply' | number> {
  const { ctx, project, options, destroy } = run;
  const observed = await observe(project.provider, providerCtx);
  printProblems(ctx, observed.diagnostics);
  // Fails closed like `plan`: unreadable state is never acted on (engine/observe.ts). A resource
  // with a damaged record is left out of the preview: it will not be touched.
  const blocks = observationBlocks(observed.diagnostics);
  if (blocks.whole.length > 0) return 1;
  const full = makePlan(project.desired, observed.state, run.planOptions);
  const shown = { ...full, changes: full.changes.filter((c) => !blocks.resources.has(c.resource)) };
  if (!options.json) ctx.print(createPlanTextView({ style: ctx.style }).render(shown));
  // With --json, an apply that stops here still says so in its stream: the plan, then the end.
  const stop = async (ok: boolean) => {
    if (!options.json) return;
    const reporter = await applyReporter(ctx, true);
    reporter.emit({ type: 'plan', plan: shown, pass: 1 });
    reporter.emit({ type: 'finished', ok, applied: 0, failed: 0 });
  };
  if (!isApplicable(shown)) {
    if (options.json) printProblems(ctx, shown.diagnostics);
    await stop(false);
    return 1;
  }
  if (!hasChanges(shown) && !shown.changes.some((c) => c.action === 'wait')) {
    await stop(blocks.resources.size === 0);
    if (!options.json && !destroy) await printEndpoints(ctx, project.provider, project.providerCtx);
    return blocks.resources.size > 0 ? 1 : 0;
  }
  if (options.autoApprove || !hasChanges(shown)) return 'apply';
  if (!ctx.isInteractive) {
    return failed(ctx, [
      error('approval-needed', 'not a terminal: cannot ask for confirmation', {
        hint: 'pass --auto-approve (-y), or save a reviewed plan with `mlform plan --out FILE` and apply it',
      }),
    ]);
  }
  const what = destroy ? 'destroy all resources of this stack' : 'perform these actions';
  if (await ctx.confirm(`\nDo you want to ${what}? Only 'yes' will be accepted: `)) return 'apply';
  ctx.print('Apply cancelled.');
  return 1;
}
