/** `mlform plan`: what apply would change; nothing is changed. */
import { hasErrors } from '../../../resources/diagnostic.js';
import { hasChanges, isApplicable } from '../../engine/change.js';
import { observe } from '../../engine/observe.js';
import { plan as makePlan } from '../../engine/plan.js';
import { policyDeletes } from '../../engine/policy.js';
import { savePlanFile } from '../../engine/plan-file.js';
import { planJsonView } from '../../ui/plan-json.js';
import { planMarkdownView } from '../../ui/plan-markdown.js';
import { createPlanTextView } from '../../ui/plan-text.js';
import { defineCommand } from '../command.js';
import { TEXT_OR_JSON_OPTION } from '../options.js';
import { openProject } from '../project.js';
import { OPERATOR_OPTIONS, operatorSettings, type OperatorFlags } from '../operator.js';
import { failed, printProblems } from '../problems.js';

interface PlanOptions extends OperatorFlags {
  output: 'text' | 'json' | 'markdown';
  detailedExitcode?: boolean;
  out?: string;
  destroy?: boolean;
  prune: boolean;
}

export const planCommand = defineCommand({
  name: 'plan',
  summary: 'show what apply would change',
  description:
    'Load the manifests, observe the actual state (one list call per kind) and print the changes\n' +
    'apply would make: + create, ~ update, -/+ replace, - delete, register, alias moves, waits for\n' +
    'running trainings; field-level diffs, drift marked. Nothing is changed.',
  arguments: [{ syntax: '[paths...]', description: 'manifest files or directories (default: .)' }],
  options: [
    {
      ...TEXT_OR_JSON_OPTION,
      description: 'output format (markdown: for a pull-request comment)',
      choices: ['text', 'json', 'markdown'],
    },
    {
      flags: '--detailed-exitcode',
      description: 'exit 0 when there are no changes, 2 when there are, 1 on errors',
    },
    { flags: '--out <file>', description: 'save the plan for `mlform apply FILE`' },
    { flags: '--destroy', description: 'plan deleting everything of the stack' },
    { flags: '--no-prune', description: 'keep managed resources whose manifests are gone' },
    ...OPERATOR_OPTIONS,
  ],
  examples: [
    'mlform plan examples/quickstart',
    'mlform plan --out tfplan.json && mlform apply tfplan.json',
    'mlform plan -o markdown --out plan.json > plan.md   # a pull-request comment (deploy/github/)',
  ],
  async handler([paths]: [string[]], options: PlanOptions, ctx) {
    // Observing starts as soon as mlform.yaml is read: the list calls wait while the manifests load.
    const opened = await openProject(paths, {
      operator: operatorSettings(options, ctx.env),
      readOnly: true,
      observeEarly: true,
    });
    // Warnings of a loadable project (e.g. a credential-looking env literal) go to stderr too.
    if (!opened.project) return failed(ctx, opened.diagnostics);
    printProblems(ctx, opened.diagnostics);
    const { desired, provider, providerCtx, policy, observation } = opened.project;
    const observed = await (observation ?? observe(provider, providerCtx));
    if (hasErrors(observed.diagnostics)) return failed(ctx, observed.diagnostics);
    const plan = makePlan(desired, observed.state, {
      destroy: options.destroy,
      prune: options.prune,
      ...(policy && { deletes: policyDeletes(policy) }),
    });
    const view =
      options.output === 'json'
        ? planJsonView
        : options.output === 'markdown'
          ? planMarkdownView
          : createPlanTextView({ style: ctx.style });
    ctx.print(view.render(plan));
    if (!isApplicable(plan)) return 1;
    if (options.out) {
      await savePlanFile(options.out, plan);
      if (options.output === 'text')
        ctx.print(`Saved the plan to ${options.out}; apply it with: mlform apply ${options.out}`);
    }
    return options.detailedExitcode && hasChanges(plan) ? 2 : 0;
  },
});
