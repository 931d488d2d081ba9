/** `mlform trigger schedule/NAME`: fire a schedule now, as its clock would. */
import { error, type Diagnostic } from '../../../resources/diagnostic.js';
import { runRef, scheduleAddress } from '../../../resources/address.js';
import { closest } from '../../../resources/suggest.js';
import type { DesiredState } from '../../../manifests/load.js';
import { defineCommand } from '../command.js';
import { lockHolder } from '../project.js';
import { withApplyLock } from '../../engine/apply-lock.js';
import { OPERATOR_OPTIONS, type OperatorFlags } from '../operator.js';
import { failed, printProblems } from '../problems.js';
import { openNamedTarget } from './get.js';
import { fileOption } from '../options.js';

interface TriggerOptions extends OperatorFlags {
  file: string[];
}

export const triggerCommand = defineCommand({
  name: 'trigger',
  summary: 'fire a schedule now',
  description:
    "Start a run of the schedule's TrainingRun template now, as if its cron had\n" +
    "fired: the run is numbered after the template's runs and carries the\n" +
    "schedule's name. The concurrency policy applies: Forbid skips while a run\n" +
    'it started is still going, Replace cancels that run first, Allow runs both.\n' +
    'The schedule must exist in the actual state (apply it first); the run uses\n' +
    'the template as last applied. Returns at once: follow the run with\n' +
    '`mlform logs trainingrun/NAME --follow`.',
  arguments: [{ syntax: '<schedule/NAME>', description: 'the Schedule, e.g. schedule/mpg-weekly' }],
  options: [fileOption(), ...OPERATOR_OPTIONS],
  examples: [
    'mlform trigger schedule/mpg-weekly',
    'mlform trigger schedule/mpg-weekly -f examples/quickstart',
  ],
  exitStatus:
    '0 when a run started; 1 when the schedule does not exist, the\n' +
    'fire was skipped (concurrencyPolicy Forbid) or the run could not start.',
  async handler([targetText]: [string], options: TriggerOptions, ctx) {
    const opened = await openNamedTarget(ctx, targetText, 'trigger', options);
    if (!opened) return 1;
    const { name } = opened;
    const { desired, provider, providerCtx } = opened.project;
    const listed = await provider.schedules.list(providerCtx);
    const applied = listed.items.map((s) => s.name);
    if (!applied.includes(name))
      return failed(ctx, [...listed.diagnostics, scheduleNotApplied(name, applied, desired)]);
    // Under the apply lock like any writer: a fire starts a run an apply in progress must not miss.
    const outcome = await withApplyLock(provider, providerCtx, { holder: lockHolder() }, (locked) =>
      provider.schedules.trigger(locked.ctx, { name }),
    );
    if (outcome.status !== 'done') return failed(ctx, outcome.diagnostics);
    const fired = outcome.value;
    printProblems(ctx, fired.diagnostics);
    if (!fired.run) {
      // Forbid's skip comes back as a warning: nothing started, and scripts should know.
      if (!fired.diagnostics.some((d) => d.severity === 'error'))
        ctx.print(`Schedule ${name}: fire skipped.`);
      return 1;
    }
    ctx.print(`Schedule ${name} fired: started ${runRef(fired.run)} (${fired.run.state})`);
    ctx.print(`  follow it: mlform logs trainingrun/${fired.run.name} ${fired.run.number} --follow`);
    return 0;
  },
});

/** A schedule the actual state lacks: only declared (apply first), or unknown (the closest name). */
function scheduleNotApplied(name: string, applied: readonly string[], desired: DesiredState): Diagnostic {
  const declaredNames = desired.resources.filter((r) => r.kind === 'Schedule').map((r) => r.name);
  const declared = declaredNames.includes(name);
  const known = [...new Set([...applied, ...declaredNames])];
  const match = closest(name, known);
  return error(
    'schedule-not-applied',
    declared
      ? `Schedule "${name}" is in the manifests but not applied yet`
      : `Schedule "${name}" does not exist`,
    {
      address: scheduleAddress(name),
      hint: declared
        ? 'run `mlform apply` first, then trigger it'
        : match !== undefined
          ? `did you mean "schedule/${match}"?`
          : known.length > 0
            ? `known schedules: ${known.map((n) => `schedule/${n}`).join(', ')}`
            : 'this stack has no schedules',
    },
  );
}
