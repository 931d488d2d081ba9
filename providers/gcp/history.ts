/**
 * `Schedule.spec.history` on gcp: of the finished runs a schedule fired, the newest
 * `successful` succeeded and `failed` failed or cancelled ones are kept, as the local provider
 * does (CronJob's history limits). The others are dropped from mlform's view by a marker in their
 * outcome object (`outcomes/<name>/<k>.json`, custom metadata `pruned`), which the listing already
 * reads: no extra call per listing. The Vertex AI job stays (Vertex keeps its job list, and
 * deleting it would renumber the scheduled runs after it: they are numbered in creation order),
 * and so do its files (a registered version may be served from them).
 */
import type { Diagnostic } from '../../resources/diagnostic.js';
import { runRef, scheduleAddress } from '../../resources/address.js';
import type { ScheduleSpec } from '../../resources/schedule.js';
import type { ObservedRun, ProviderContext } from '../provider.js';
import { callDiagnostic } from './call.js';
import type { Gcp } from './context.js';
import { listRunsNamed, PRUNED } from './runs.js';

/**
 * The runs of `schedule` beyond its history limits, newest kept. The name's highest-numbered run
 * is never among them: the engine numbers a new run after the highest one it sees, and a hidden
 * highest number would be given out twice.
 */
export function beyondHistory(
  runs: readonly ObservedRun[],
  schedule: string,
  history: ScheduleSpec['history'],
): ObservedRun[] {
  const highest = Math.max(0, ...runs.map((r) => r.number));
  const newestFirst = runs.filter((r) => r.schedule === schedule).sort((a, b) => b.number - a.number);
  const succeeded = newestFirst.filter((r) => r.state === 'succeeded');
  const failed = newestFirst.filter((r) => r.state === 'failed' || r.state === 'cancelled');
  return [...succeeded.slice(history.successful), ...failed.slice(history.failed)].filter(
    (r) => r.number !== highest,
  );
}

/** Applies `history` to the runs Schedule `name` fired; a failure is a warning. */
export async function pruneScheduleHistory(
  gcp: Gcp,
  ctx: ProviderContext,
  name: string,
  spec: Pick<ScheduleSpec, 'trainingRun' | 'history'>,
): Promise<Diagnostic[]> {
  try {
    const { runs } = await listRunsNamed(gcp, ctx, spec.trainingRun);
    const layout = gcp.layout(ctx.stack);
    for (const run of beyondHistory(runs, name, spec.history)) {
      await gcp.gcs.write(layout.outcome(run.name, run.number), JSON.stringify({ [PRUNED]: name }), {
        metadata: { [PRUNED]: name },
      });
      ctx.log?.(`${scheduleAddress(name)}: dropped ${runRef(run)} (${run.state}) beyond its history`);
    }
    return [];
  } catch (e) {
    // The schedule itself is fine: the next apply or fire tries again.
    const d = callDiagnostic(scheduleAddress(name), `applying the history limits of ${name}`, e);
    return [{ ...d, severity: 'warning' }];
  }
}
