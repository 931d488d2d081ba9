/**
 * What a Vertex AI trial reports to Vizier through the hypertune file (hypertune.ts), so that the
 * study ranks, stops and selects trials as mlform would (providers/gcp/README.md "Tuning"):
 *
 * - every epoch, the raw `tuning.metric` with `global_step` = the epoch: Vizier's automated
 *   stopping (the median rule) reads these intermediate measurements;
 * - at the end, under the study's metric ids, the trial's objective values as `scoreTrial` gives
 *   them: `tuning.metric` as the *score* (the metric worsened by the health penalties; Vizier
 *   cannot apply penalties itself), then each of `objectives`. The final lines come last, and the
 *   study measures the last one (`measurementSelectionType: LAST_MEASUREMENT`).
 */
import type { MetricsFile } from '../../artifact/files.js';
import type { ProgressEvent } from '../types.js';
import { reportHypertuneMetric } from './hypertune.js';
import { scoreTrial } from './objectives/index.js';
import type { Tuning } from './study-types.js';
import type { TrialParams } from './search-space.js';
import { describeParams } from './trial-spec.js';

type Env = Record<string, string | undefined>;

export interface ReportedTrial {
  id: string;
  params: TrialParams;
  metric: string;
}

/**
 * Appends each epoch's `metric` in order (reports are queued: the file is read and rewritten per
 * line). `flush` waits for the queue and rethrows the first failure.
 */
export function epochReporter(
  metric: string,
  env: Env,
): { onEvent: (event: ProgressEvent) => void; flush: () => Promise<void> } {
  let queue: Promise<unknown> = Promise.resolve();
  let failure: unknown;
  return {
    onEvent(event) {
      if (event.type !== 'epoch') return;
      const value = event.metrics[metric];
      if (typeof value !== 'number' || !Number.isFinite(value)) return;
      queue = queue
        .then(() => reportHypertuneMetric(metric, value, { env, globalStep: event.epoch }))
        .catch((e: unknown) => {
          failure ??= e;
        });
    },
    async flush() {
      await queue;
      if (failure !== undefined) throw failure;
    },
  };
}

/**
 * The trial's final measurement: the score under `tuning.metric`, then each further objective.
 * Without `tuning` (an older job) the metric as measured. Throws when a value is missing: Vizier
 * would otherwise rank the trial on nothing.
 */
export async function reportTrialMeasurement(
  trial: ReportedTrial,
  tuning: Tuning | undefined,
  metrics: MetricsFile,
  artifactDir: string,
  env: Env,
): Promise<string> {
  const step = metrics.training.epochs;
  const fail = (what: string): never => {
    throw new Error(
      `trial ${trial.id} (${describeParams(trial.params)}) has no finite ${what} to report; metrics: ${Object.keys(metrics.metrics).join(', ')}`,
    );
  };
  if (!tuning) {
    const value = metrics.metrics[trial.metric];
    if (typeof value !== 'number' || !Number.isFinite(value)) fail(trial.metric);
    return reportHypertuneMetric(trial.metric, value as number, { env, globalStep: step });
  }
  const scored = await scoreTrial(tuning, metrics, artifactDir);
  if (scored.score === null || !Number.isFinite(scored.score)) fail(tuning.metric);
  const objectives = tuning.objectives ?? [];
  const values = objectives.map((o, i) => {
    const value = scored.values[i + 1];
    return value === null || value === undefined || !Number.isFinite(value) ? fail(o.metric) : value;
  });
  let file = await reportHypertuneMetric(tuning.metric, scored.score as number, { env, globalStep: step });
  for (const [i, o] of objectives.entries()) {
    file = await reportHypertuneMetric(o.metric, values[i], { env, globalStep: step });
  }
  return file;
}
