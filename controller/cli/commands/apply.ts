import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { error } from '../../../resources/diagnostic.js';
import { apply, type ApplyEvent } from '../../engine/apply.js';
import { withApplyLock } from '../../engine/apply-lock.js';
import type { ProviderContext } from '../../../providers/provider.js';
import { hasChanges, isApplicable, type Plan } from '../../engine/change.js';
import { observationBlocks, observe } from '../../engine/observe.js';
import { plan as makePlan } from '../../engine/plan.js';
import { policyDeletes } from '../../engine/policy.js';
import { loadPlanFile } from '../../engine/plan-file.js';
import { applyLine } from '../../ui/apply-progress.js';
import { escapeTerminal } from '../../ui/escape.js';
import { createPlanTextView } from '../../ui/plan-text.js';
import type { CommandContext } from '../context.js';
import { lockHolder, openProject } from '../project.js';
import { addOperatorOptions, operatorSettings, type OperatorFlags } from '../operator.js';
import { printProblems } from './plan.js';
import { shellCommand } from '../shell-quote.js';

interface ApplyOptions extends OperatorFlags {
  autoApprove?: boolean;
  wait: boolean;
  parallelism: string;
  json?: boolean;
  prune: boolean;
}

export function registerApply(program: Command, ctx: CommandContext, setExit: (code: number) => void): void {
  const common = (command: Command) =>
    addOperatorOptions(command)
      .option('-y, --auto-approve', 'do not ask for confirmation (required without a terminal)')
      .option('--no-wait', 'return after launching trainings instead of waiting to register and deploy')
      .option('--parallelism <n>', 'changes carried out at once', '10')
      .option('--json', 'progress as JSON lines (one event per line)');

  common(
    program
      .command('apply')
      .summary('make the actual state match the manifests')
      .description(
        'Plan, ask for confirmation, then carry out the changes in dependency order: launch trainings,\n' +
          'wait for them, register the versions that pass the gate, move aliases, roll out endpoints.\n' +
          "Holds the stack's apply lock (a lease that expires if this process dies). With a saved plan\n" +
          '(`mlform plan --out FILE`), plans again and applies that plan only if its changes are the\n' +
          'same, byte for byte: a stale or edited file is refused.',
      )
      .argument('[paths...]', 'manifest files or directories; or a saved plan file (*.json) followed by them')
      .option('--no-prune', 'keep managed resources whose manifests are gone'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  mlform apply examples/quickstart\n  mlform apply --auto-approve --no-wait .\n  mlform apply tfplan.json',
    )
    .action((paths: string[], options: ApplyOptions) => run(paths, options, false));

  common(
    program
      .command('destroy')
      .summary('delete everything the stack manages')
      .description(
        'Plan deleting every resource of the stack (endpoints, schedules, models with their versions;\n' +
          'running trainings are cancelled, finished runs stay as history). Resources annotated\n' +
          '`mlform/prevent-destroy: "true"` make the plan fail instead.',
      )
      .argument('[paths...]', 'manifest files or directories (for mlform.yaml)'),
  ).action((paths: string[], options: ApplyOptions) => run(paths, { ...options, prune: true }, true));

  async function run(paths: string[], options: ApplyOptions, destroy: boolean): Promise<void> {
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      setExit(await execute(paths, options, destroy, abort.signal));
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }

  async function execute(
    paths: string[],
    options: ApplyOptions,
    destroy: boolean,
    signal: AbortSignal,
  ): Promise<number> {
    let saved: Plan | undefined;
    if (!destroy && paths.length > 0 && /\.json$/i.test(paths[0])) {
      const loaded = await loadPlanFile(paths[0]);
      if (!loaded.plan) {
        printProblems(ctx, loaded.diagnostics);
        return 1;
      }
      saved = loaded.plan;
    }
    // A saved plan is applied against the same manifests (the paths after it, default: .).
    const opened = await openProject(saved ? paths.slice(1) : paths, {
      signal,
      operator: operatorSettings(options, ctx.env),
    });
    if (!opened.project) {
      printProblems(ctx, opened.diagnostics);
      return 1;
    }
    const { desired, provider, providerCtx, policy } = opened.project;
    const planOptions = {
      destroy,
      prune: options.prune,
      ...(policy && { deletes: policyDeletes(policy) }),
    };

    const outcome = await withApplyLock(provider, providerCtx, { holder: lockHolder(), signal }, (locked) =>
      applyLocked(locked.ctx, locked.signal),
    );
    if (outcome.status !== 'done') {
      printProblems(ctx, outcome.diagnostics);
      return 1;
    }
    return outcome.value;

    async function applyLocked(providerCtx: ProviderContext, signal: AbortSignal): Promise<number> {
      if (!saved) {
        const observed = await observe(provider, providerCtx);
        printProblems(ctx, observed.diagnostics);
        // Fails closed like `plan`: unreadable state is never acted on (engine/observe.ts). A
        // resource with a damaged record is left out of the preview: it will not be touched.
        const blocks = observationBlocks(observed.diagnostics);
        if (blocks.whole.length > 0) return 1;
        const full = makePlan(desired, observed.state, planOptions);
        const preview = { ...full, changes: full.changes.filter((c) => !blocks.resources.has(c.resource)) };
        if (!options.json) ctx.print(createPlanTextView({ style: ctx.style }).render(preview));
        if (!isApplicable(preview)) return 1;
        if (!hasChanges(preview) && !preview.changes.some((c) => c.action === 'wait')) {
          if (!options.json && !destroy) await printEndpoints();
          return blocks.resources.size > 0 ? 1 : 0;
        }
        if (!options.autoApprove && hasChanges(preview)) {
          if (!ctx.isInteractive) {
            printProblems(ctx, [
              error('approval-needed', 'not a terminal: cannot ask for confirmation', {
                hint: 'pass --auto-approve (-y), or save a reviewed plan with `mlform plan --out FILE` and apply it',
              }),
            ]);
            return 1;
          }
          if (!(await confirm(destroy))) {
            ctx.print('Apply cancelled.');
            return 1;
          }
        }
      }
      // A person at a terminal gets the live Ink view; CI and pipes get plain lines.
      // Ink and React load only for a person at a terminal: ~40 MB and a few hundred ms otherwise.
      const live =
        !options.json && ctx.isInteractive
          ? (await import('../../ui/apply-view.js')).startApplyView()
          : undefined;
      const emit = (event: ApplyEvent) => {
        if (options.json) {
          ctx.print(JSON.stringify(jsonEvent(event)));
          return;
        }
        if (live) {
          live.emit(event);
          return;
        }
        if (event.type === 'plan' && event.pass === 1) return;
        const line = applyLine(event, ctx.style);
        if (line) ctx.print(line);
      };
      const result = await apply({
        provider,
        ctx: providerCtx,
        desired,
        planOptions,
        saved,
        ...(saved && { savedFile: paths[0] }),
        wait: options.wait,
        parallelism: Math.max(1, Number.parseInt(options.parallelism, 10) || 10),
        onEvent: emit,
        signal,
      });
      await live?.done();
      printProblems(ctx, result.diagnostics);
      if (result.ok && !options.json) await printEndpoints();
      return result.ok ? 0 : 1;
    }

    async function printEndpoints(): Promise<void> {
      const { items } = await provider.deployedEndpoints.list(providerCtx);
      for (const endpoint of items) {
        if (!endpoint.url || !endpoint.healthy) continue;
        const traffic = endpoint.traffic.map((t) => `v${t.version} ${t.percent}%`).join(', ');
        ctx.print(
          `\n${escapeTerminal(endpoint.name)}: ${escapeTerminal(endpoint.url)}  (traffic ${traffic})`,
        );
        const instance = await exampleInstance(endpoint.url, endpoint.model);
        // Category values come from the training data: every argument is quoted for the shell.
        const predictUrl = `${endpoint.url}/v1/models/${encodeURIComponent(endpoint.model)}:predict`;
        const body = JSON.stringify({ instances: [instance] });
        ctx.print(
          `  ${shellCommand(['curl', '-s', predictUrl, '-H', 'content-type: application/json', '-d', body])}`,
        );
      }
    }
  }

  async function confirm(destroy: boolean): Promise<boolean> {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    try {
      const answer = await rl.question(
        `\nDo you want to ${destroy ? 'destroy all resources of this stack' : 'perform these actions'}? Only 'yes' will be accepted: `,
      );
      return answer.trim() === 'yes';
    } finally {
      rl.close();
    }
  }
}

interface FeatureMetadata {
  name: string;
  type: string;
  fill?: unknown;
  vocabulary?: unknown[];
}

/**
 * A request a user can paste: each feature at its training fill value (the median, or the first
 * category); features without one are left out, and the server fills them as training did.
 */
async function exampleInstance(url: string, model: string): Promise<Record<string, unknown>> {
  try {
    const response = await fetch(`${url}/v1/models/${model}/metadata`, { signal: AbortSignal.timeout(2000) });
    const body = (await response.json()) as { mlform?: { features?: FeatureMetadata[] } };
    const instance: Record<string, unknown> = {};
    for (const f of body.mlform?.features ?? []) {
      // Every feature is sent (the server refuses a left-out one); null is "missing, fill as training did".
      if (f.vocabulary && f.vocabulary.length > 0) instance[f.name] = f.vocabulary[0];
      else if (f.fill !== undefined && f.type !== 'date') instance[f.name] = f.fill;
      else instance[f.name] = null;
    }
    return instance;
  } catch {
    return {};
  }
}

/** The JSON-lines event stream: stable, small objects (no full plans in progress events). */
function jsonEvent(event: ApplyEvent): Record<string, unknown> {
  switch (event.type) {
    case 'plan':
      return { type: 'plan', pass: event.pass, summary: event.plan.summary };
    case 'start':
    case 'done':
      return {
        type: event.type,
        address: event.change.address,
        action: event.change.action,
        reason: event.change.reason,
      };
    case 'failed':
      return {
        type: 'failed',
        address: event.change.address,
        action: event.change.action,
        errors: event.diagnostics.map((d) => d.message),
      };
    case 'skipped':
      return { type: 'skipped', address: event.change.address, reason: event.reason };
    case 'progress':
      return {
        type: 'progress',
        runs: event.runs.map((r) => ({
          name: r.name,
          number: r.number,
          state: r.state,
          progress: r.progress,
        })),
      };
    case 'finished':
      return { type: 'finished', ok: event.ok, applied: event.applied, failed: event.failed };
  }
}
