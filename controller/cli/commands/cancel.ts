/** `mlform cancel trainingrun/NAME`: stop the queued and running runs of a TrainingRun. */
import { error } from '../../../resources/diagnostic.js';
import { runRef, trainingRunAddress } from '../../../resources/address.js';
import { ACTIVE_RUN_STATES, type Provider, type ProviderContext } from '../../../providers/provider.js';
import { withApplyLock } from '../../engine/apply-lock.js';
import { defineCommand } from '../command.js';
import type { CommandContext } from '../context.js';
import { lockHolder } from '../project.js';
import { OPERATOR_OPTIONS, type OperatorFlags } from '../operator.js';
import { failed, printProblems } from '../problems.js';
import { openNamedTarget } from './get.js';
import { fileOption } from '../options.js';

interface CancelOptions extends OperatorFlags {
  file: string[];
}

export const cancelCommand = defineCommand({
  name: 'cancel',
  summary: 'cancel the active runs of a TrainingRun',
  description:
    'Cancel every queued or running run of a TrainingRun, scheduled runs\n' +
    'included. The trainer is stopped with SIGTERM; the runs stay as history in\n' +
    'state cancelled. Takes the apply lock, so it never races an apply. While the\n' +
    'manifest is unchanged, the next apply starts a new attempt of its spec.',
  arguments: [{ syntax: '<trainingrun/NAME>', description: 'the TrainingRun, e.g. trainingrun/mpg-mlp' }],
  options: [fileOption(), ...OPERATOR_OPTIONS],
  examples: ['mlform cancel trainingrun/mpg-mlp', 'mlform cancel trainingrun/mpg-mlp -f examples/quickstart'],
  exitStatus:
    '0 when runs were cancelled; 1 when nothing was running, the\nlock is held or cancelling failed.',
  async handler([targetText]: [string], options: CancelOptions, ctx) {
    // Stopping a run is never refused by the policy (it only ever lowers what runs).
    const opened = await openNamedTarget(ctx, targetText, 'cancel', options, { enforcePolicy: false });
    if (!opened) return 1;
    const { provider, providerCtx } = opened.project;
    const outcome = await withApplyLock(provider, providerCtx, { holder: lockHolder() }, (locked) =>
      cancelActiveRuns(ctx, provider, locked.ctx, opened.name),
    );
    return outcome.status === 'done' ? outcome.value : failed(ctx, outcome.diagnostics);
  },
});

async function cancelActiveRuns(
  ctx: CommandContext,
  provider: Provider,
  providerCtx: ProviderContext,
  name: string,
): Promise<number> {
  // Listed under the lock: an apply that finished just before cannot have started runs we miss.
  const listed = await provider.trainingRuns.list(providerCtx);
  printProblems(ctx, listed.diagnostics);
  const runs = listed.items.filter((r) => r.name === name);
  const active = runs.filter((r) => ACTIVE_RUN_STATES.includes(r.state));
  if (active.length === 0) {
    const latest = [...runs].sort((a, b) => b.number - a.number)[0];
    return failed(ctx, [
      error('nothing-running', `nothing to cancel: no run of TrainingRun "${name}" is queued or running`, {
        address: trainingRunAddress(name),
        hint: latest
          ? `its latest run, #${latest.number}, is ${latest.state}`
          : 'it has no runs; check the name with `mlform get trainingruns`',
      }),
    ]);
  }
  let anyFailed = false;
  for (const run of active) {
    const result = await provider.trainingRuns.cancel(providerCtx, { name, number: run.number });
    printProblems(ctx, result.diagnostics);
    if (result.diagnostics.some((d) => d.severity === 'error')) anyFailed = true;
    else
      ctx.print(
        `cancelled ${runRef(run)} (was ${run.state}${run.schedule ? `, schedule ${run.schedule}` : ''})`,
      );
  }
  return anyFailed ? 1 : 0;
}
