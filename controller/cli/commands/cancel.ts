/** `mlform cancel trainingrun/NAME`: stop the queued and running runs of a TrainingRun. */
import type { Command } from 'commander';
import { error } from '../../../resources/diagnostic.js';
import { ACTIVE_RUN_STATES, type ProviderContext } from '../../../providers/provider.js';
import { withApplyLock } from '../../engine/apply-lock.js';
import type { CommandContext } from '../context.js';
import { lockHolder, openProject } from '../project.js';
import { addOperatorOptions, operatorSettings, type OperatorFlags } from '../operator.js';
import { printProblems } from './plan.js';
import { fileOption, parseTarget } from './get.js';

interface CancelOptions extends OperatorFlags {
  file: string[];
}

export function registerCancel(program: Command, ctx: CommandContext, setExit: (code: number) => void): void {
  addOperatorOptions(
    program
      .command('cancel')
      .summary('cancel the active runs of a TrainingRun')
      .description(
        'Cancel every queued or running run of a TrainingRun, scheduled runs\n' +
          'included. The trainer is stopped with SIGTERM; the runs stay as history in\n' +
          'state cancelled. Takes the apply lock, so it never races an apply. While the\n' +
          'manifest is unchanged, the next apply starts a new attempt of its spec.',
      )
      .argument('<trainingrun/NAME>', 'the TrainingRun, e.g. trainingrun/mpg-mlp')
      .addOption(fileOption())
      .addHelpText(
        'after',
        '\nExamples:\n  mlform cancel trainingrun/mpg-mlp\n  mlform cancel trainingrun/mpg-mlp -f examples/quickstart\n' +
          '\nExit status: 0 when runs were cancelled; 1 when nothing was running, the\n' +
          'lock is held or cancelling failed.',
      ),
  ).action(async (targetText: string, options: CancelOptions) => {
    setExit(await cancel(targetText, options));
  });

  async function cancel(targetText: string, options: CancelOptions): Promise<number> {
    const parsed = parseTarget(targetText, true);
    if (!parsed.target?.name || parsed.target.kind !== 'TrainingRun') {
      printProblems(ctx, [
        parsed.diagnostic ??
          error(
            'cancel-kind',
            `only TrainingRuns can be cancelled, not ${parsed.target?.kind ?? targetText}`,
            {
              hint: 'e.g. mlform cancel trainingrun/mpg-mlp',
            },
          ),
      ]);
      return 1;
    }
    const name = parsed.target.name;
    // Stopping a run is never refused by the policy (it only ever lowers what runs).
    const opened = await openProject(options.file, {
      operator: operatorSettings(options, ctx.env),
      enforcePolicy: false,
    });
    if (!opened.project) {
      printProblems(ctx, opened.diagnostics);
      return 1;
    }
    const { provider, providerCtx } = opened.project;
    const outcome = await withApplyLock(provider, providerCtx, { holder: lockHolder() }, (locked) =>
      cancelLocked(locked.ctx),
    );
    if (outcome.status !== 'done') {
      printProblems(ctx, outcome.diagnostics);
      return 1;
    }
    return outcome.value;

    async function cancelLocked(providerCtx: ProviderContext): Promise<number> {
      // Listed under the lock: an apply that finished just before cannot have started runs we miss.
      const listed = await provider.trainingRuns.list(providerCtx);
      printProblems(ctx, listed.diagnostics);
      const runs = listed.items.filter((r) => r.name === name);
      const active = runs.filter((r) => ACTIVE_RUN_STATES.includes(r.state));
      if (active.length === 0) {
        const latest = [...runs].sort((a, b) => b.number - a.number)[0];
        printProblems(ctx, [
          error(
            'nothing-running',
            `nothing to cancel: no run of TrainingRun "${name}" is queued or running`,
            {
              address: `TrainingRun/${name}`,
              hint: latest
                ? `its latest run, #${latest.number}, is ${latest.state}`
                : 'it has no runs; check the name with `mlform get trainingruns`',
            },
          ),
        ]);
        return 1;
      }
      let failed = false;
      for (const run of active) {
        const result = await provider.trainingRuns.cancel(providerCtx, { name, number: run.number });
        printProblems(ctx, result.diagnostics);
        if (result.diagnostics.some((d) => d.severity === 'error')) failed = true;
        else
          ctx.print(
            `cancelled ${name}#${run.number} (was ${run.state}${run.schedule ? `, schedule ${run.schedule}` : ''})`,
          );
      }
      return failed ? 1 : 0;
    }
  }
}
