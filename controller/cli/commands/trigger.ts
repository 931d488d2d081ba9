/** `mlform trigger schedule/NAME`: fire a schedule now, as its clock would. */
import type { Command } from 'commander';
import { error } from '../../../resources/diagnostic.js';
import { closest } from '../../../resources/suggest.js';
import type { CommandContext } from '../context.js';
import { lockHolder, openProject } from '../project.js';
import { withApplyLock } from '../../engine/apply-lock.js';
import { addOperatorOptions, operatorSettings, type OperatorFlags } from '../operator.js';
import { printProblems } from './plan.js';
import { fileOption, parseTarget } from './get.js';

interface TriggerOptions extends OperatorFlags {
  file: string[];
}

export function registerTrigger(
  program: Command,
  ctx: CommandContext,
  setExit: (code: number) => void,
): void {
  addOperatorOptions(
    program
      .command('trigger')
      .summary('fire a schedule now')
      .description(
        "Start a run of the schedule's TrainingRun template now, as if its cron had\n" +
          "fired: the run is numbered after the template's runs and carries the\n" +
          "schedule's name. The concurrency policy applies: Forbid skips while a run\n" +
          'it started is still going, Replace cancels that run first, Allow runs both.\n' +
          'The schedule must exist in the actual state (apply it first); the run uses\n' +
          'the template as last applied. Returns at once: follow the run with\n' +
          '`mlform logs trainingrun/NAME -f`.',
      )
      .argument('<schedule/NAME>', 'the Schedule, e.g. schedule/mpg-weekly')
      .addOption(fileOption())
      .addHelpText(
        'after',
        '\nExamples:\n  mlform trigger schedule/mpg-weekly\n  mlform trigger schedule/mpg-weekly -f examples/quickstart\n' +
          '\nExit status: 0 when a run started; 1 when the schedule does not exist, the\n' +
          'fire was skipped (concurrencyPolicy Forbid) or the run could not start.',
      ),
  ).action(async (targetText: string, options: TriggerOptions) => {
    setExit(await trigger(targetText, options));
  });

  async function trigger(targetText: string, options: TriggerOptions): Promise<number> {
    const parsed = parseTarget(targetText, true);
    if (!parsed.target?.name || parsed.target.kind !== 'Schedule') {
      printProblems(ctx, [
        parsed.diagnostic ??
          error('trigger-kind', `only Schedules can be triggered, not ${parsed.target?.kind ?? targetText}`, {
            hint: 'e.g. mlform trigger schedule/mpg-weekly',
          }),
      ]);
      return 1;
    }
    const name = parsed.target.name;
    const opened = await openProject(options.file, { operator: operatorSettings(options, ctx.env) });
    if (!opened.project) {
      printProblems(ctx, opened.diagnostics);
      return 1;
    }
    const { desired, provider, providerCtx } = opened.project;
    const listed = await provider.schedules.list(providerCtx);
    if (!listed.items.some((s) => s.name === name)) {
      const declared = desired.resources.some((r) => r.kind === 'Schedule' && r.name === name);
      const known = [
        ...new Set([
          ...listed.items.map((s) => s.name),
          ...desired.resources.filter((r) => r.kind === 'Schedule').map((r) => r.name),
        ]),
      ];
      printProblems(ctx, [
        ...listed.diagnostics,
        error(
          'schedule-not-applied',
          declared
            ? `Schedule "${name}" is in the manifests but not applied yet`
            : `Schedule "${name}" does not exist`,
          {
            address: `Schedule/${name}`,
            hint: declared
              ? 'run `mlform apply` first, then trigger it'
              : closest(name, known) !== undefined
                ? `did you mean "schedule/${closest(name, known) ?? ''}"?`
                : known.length > 0
                  ? `known schedules: ${known.map((n) => `schedule/${n}`).join(', ')}`
                  : 'this stack has no schedules',
          },
        ),
      ]);
      return 1;
    }
    // Under the apply lock like any writer: a fire starts a run an apply in progress must not miss.
    const outcome = await withApplyLock(provider, providerCtx, { holder: lockHolder() }, (locked) =>
      provider.schedules.trigger(locked.ctx, { name }),
    );
    if (outcome.status !== 'done') {
      printProblems(ctx, outcome.diagnostics);
      return 1;
    }
    const fired = outcome.value;
    printProblems(ctx, fired.diagnostics);
    if (!fired.run) {
      // Forbid's skip comes back as a warning: nothing started, and scripts should know.
      if (!fired.diagnostics.some((d) => d.severity === 'error'))
        ctx.print(`Schedule ${name}: fire skipped.`);
      return 1;
    }
    const run = fired.run;
    ctx.print(`Schedule ${name} fired: started ${run.name}#${run.number} (${run.state})`);
    ctx.print(`  follow it: mlform logs trainingrun/${run.name} ${run.number} -f`);
    return 0;
  }
}
