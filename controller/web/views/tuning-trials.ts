/**
 * The trials of a tuned run: from tuning.json once the run succeeded (the search's own record,
 * validated with its schema), else from the `trial` events of the log as they arrive. The best
 * trial is the search's pick when it named one, else the best metric per the goal among trials
 * that were neither pruned nor failed.
 */
import { validateAgainstJsonSchema } from '../../../manifests/schema-validation.js';
import type { TrainingRunSpec } from '../../../resources/training-run.js';
import { TuningFileSchema, type TuningFile } from '../../../trainer/tuning/tuning-file.js';
import type { RunDetail } from '../api.js';
import { trialParams, type RunLogState } from './run-events.js';
import { cleanText } from './safe-text.js';

type Tuning = NonNullable<RunDetail['tuning']>;
type Trial = Tuning['trials'][number];
const MAX_TRIALS = 1000;

const finiteOrNull = (v: number | null | undefined): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : null;

export function tuningOf(
  spec: NonNullable<TrainingRunSpec['tuning']>,
  log: RunLogState,
  tuningFile: TuningFile | undefined,
): Tuning {
  const goal = spec.goal ?? 'minimize';
  const metric = spec.metric ?? 'val_loss';
  let trials: Trial[];
  let pick: number | undefined;
  if (tuningFile) {
    trials = tuningFile.trials.slice(0, MAX_TRIALS).map((t) => ({
      trial: t.trial,
      params: trialParams(t.params),
      state: t.state,
      metric: finiteOrNull(t.metric),
      pruned: t.state === 'pruned',
      best: false,
    }));
    pick = tuningFile.best?.trial;
  } else {
    trials = [...log.trials.values()]
      .sort((a, b) => a.trial - b.trial)
      .map((t) => ({
        trial: t.trial,
        params: t.params,
        state: cleanText(t.state),
        metric: finiteOrNull(t.metric),
        pruned: t.state === 'pruned',
        best: false,
      }));
    pick = [...log.trials.values()].find((t) => t.best)?.trial;
  }
  pick ??= bestByGoal(trials, goal);
  for (const t of trials) t.best = t.trial === pick;
  return { metric, goal, trials };
}

/** ajv: the schema's enums are `Type.Unsafe`, which TypeBox's own checker does not know. */
export const isTuningFile = (value: unknown): value is TuningFile =>
  value !== undefined && validateAgainstJsonSchema(TuningFileSchema, value).length === 0;

function bestByGoal(trials: readonly Trial[], goal: 'minimize' | 'maximize'): number | undefined {
  let best: Trial | undefined;
  for (const t of trials) {
    if (t.metric === null || t.pruned || t.state === 'failed' || t.state === 'cancelled') continue;
    if (
      !best ||
      (goal === 'minimize' ? t.metric < (best.metric as number) : t.metric > (best.metric as number))
    )
      best = t;
  }
  return best?.trial;
}
