import { Option, type Command } from 'commander';
import { hasErrors } from '../../../resources/diagnostic.js';
import { hasChanges, isApplicable } from '../../engine/change.js';
import { observe } from '../../engine/observe.js';
import { plan as makePlan } from '../../engine/plan.js';
import { policyDeletes } from '../../engine/policy.js';
import { savePlanFile } from '../../engine/plan-file.js';
import { diagnosticsSummaryLine, renderDiagnostics } from '../../ui/diagnostics-view.js';
import { planJsonView } from '../../ui/plan-json.js';
import { createPlanTextView } from '../../ui/plan-text.js';
import type { CommandContext } from '../context.js';
import { openProject } from '../project.js';
import { addOperatorOptions, operatorSettings, type OperatorFlags } from '../operator.js';

interface PlanOptions extends OperatorFlags {
  output: 'text' | 'json';
  detailedExitcode?: boolean;
  out?: string;
  destroy?: boolean;
  prune: boolean;
}

export function registerPlan(program: Command, ctx: CommandContext, setExit: (code: number) => void): void {
  addOperatorOptions(
    program
      .command('plan')
      .summary('show what apply would change')
      .description(
        'Load the manifests, observe the actual state (one list call per kind) and print the changes\n' +
          'apply would make: + create, ~ update, -/+ replace, - delete, register, alias moves, waits for\n' +
          'running trainings; field-level diffs, drift marked. Nothing is changed.',
      )
      .argument('[paths...]', 'manifest files or directories (default: .)')
      .addOption(
        new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'),
      )
      .option('--detailed-exitcode', 'exit 0 when there are no changes, 2 when there are, 1 on errors')
      .option('--out <file>', 'save the plan for `mlform apply FILE`')
      .option('--destroy', 'plan deleting everything of the stack')
      .option('--no-prune', 'keep managed resources whose manifests are gone'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  mlform plan examples/quickstart\n  mlform plan --out tfplan.json && mlform apply tfplan.json',
    )
    .action(async (paths: string[], options: PlanOptions) => {
      const opened = await openProject(paths, {
        operator: operatorSettings(options, ctx.env),
        readOnly: true,
      });
      if (!opened.project) {
        printProblems(ctx, opened.diagnostics);
        setExit(1);
        return;
      }
      // Warnings of a loadable project (e.g. a credential-looking env literal) go to stderr.
      printProblems(ctx, opened.diagnostics);
      const { desired, provider, providerCtx, policy } = opened.project;
      const observed = await observe(provider, providerCtx);
      if (hasErrors(observed.diagnostics)) {
        printProblems(ctx, observed.diagnostics);
        setExit(1);
        return;
      }
      const plan = makePlan(desired, observed.state, {
        destroy: options.destroy,
        prune: options.prune,
        ...(policy && { deletes: policyDeletes(policy) }),
      });
      const view = options.output === 'json' ? planJsonView : createPlanTextView({ style: ctx.style });
      ctx.print(view.render(plan));
      if (!isApplicable(plan)) {
        setExit(1);
        return;
      }
      if (options.out) {
        await savePlanFile(options.out, plan);
        if (options.output === 'text')
          ctx.print(`Saved the plan to ${options.out}; apply it with: mlform apply ${options.out}`);
      }
      setExit(options.detailedExitcode && hasChanges(plan) ? 2 : 0);
    });
}

export function printProblems(
  ctx: CommandContext,
  diagnostics: Parameters<typeof renderDiagnostics>[0],
): void {
  if (diagnostics.length === 0) return;
  ctx.printErr(renderDiagnostics(diagnostics, ctx.errStyle));
  if (hasErrors(diagnostics)) ctx.printErr(diagnosticsSummaryLine(diagnostics, ctx.errStyle));
}
