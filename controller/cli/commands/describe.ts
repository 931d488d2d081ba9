/** `mlform describe kind/name`: everything known about one resource, kubectl-describe style. */
import { Option, type Command } from 'commander';
import { describeModel, renderDescribe } from '../../ui/status-describe.js';
import type { CommandContext } from '../context.js';
import { printProblems } from './plan.js';
import { addOperatorOptions, type OperatorFlags } from '../operator.js';
import { STATUS_FORMAT_VERSION, fileOption, loadStatusInputs, parseTarget, unknownResource } from './get.js';

interface DescribeOptions extends OperatorFlags {
  file: string[];
  output: 'text' | 'json';
}

export function registerDescribe(
  program: Command,
  ctx: CommandContext,
  setExit: (code: number) => void,
): void {
  addOperatorOptions(
    program
      .command('describe')
      .summary('show one resource in detail: spec, status, conditions, history, plan')
      .description(
        'Show one resource: its normalised spec (defaults applied, as hashed and\n' +
          'applied), sync and health, conditions with reasons, recent history, and\n' +
          'what the plan would do for it. History per kind:\n' +
          '  trainingrun       runs of that name: state, attempt, spec, times, metrics\n' +
          '  registeredmodel   aliases; versions with run, spec hash, data, git commit\n' +
          '  deployedendpoint  URL, serving health, traffic split\n' +
          '  schedule          cron, policy, last and next fire, the runs it started',
      )
      .argument('<kind/name>', 'the resource, e.g. trainingrun/mpg-mlp')
      .addOption(fileOption())
      .addOption(
        new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'),
      )
      .addHelpText(
        'after',
        '\nExamples:\n' +
          '  mlform describe trainingrun/mpg-mlp\n' +
          '  mlform describe deployedendpoint/mpg-api -f examples/quickstart\n' +
          '  mlform describe registeredmodel/mpg -o json\n' +
          '\nExit status: 0 on success; 1 when the kind or name is unknown, or the\n' +
          'manifests or the state cannot be read.',
      ),
  ).action(async (targetText: string, options: DescribeOptions) => {
    setExit(await describe(targetText, options));
  });

  async function describe(targetText: string, options: DescribeOptions): Promise<number> {
    const parsed = parseTarget(targetText, true);
    if (!parsed.target?.name) {
      printProblems(ctx, parsed.diagnostic ? [parsed.diagnostic] : []);
      return 1;
    }
    const { kind, name } = parsed.target;
    const inputs = await loadStatusInputs(ctx, options.file, options);
    if (!inputs) return 1;
    const status = inputs.statuses.find((s) => s.kind === kind && s.name === name);
    if (!status) {
      printProblems(ctx, [unknownResource(kind, name, inputs.statuses)]);
      return 1;
    }
    const resource = inputs.project.desired.resources.find((r) => r.address === status.address);
    const model = describeModel(status, resource, inputs.observed);
    ctx.print(
      options.output === 'json'
        ? JSON.stringify({ formatVersion: STATUS_FORMAT_VERSION, ...model }, null, 2)
        : renderDescribe(model, ctx.style),
    );
    return 0;
  }
}
