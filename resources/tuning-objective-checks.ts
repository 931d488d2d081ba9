/**
 * Plan-time rules of a TrainingRun's pruner, objectives and penalties (issue 17), the ones a
 * schema cannot express: an option for a pruner that would ignore it, a first rung that never
 * comes, an objective the trainer never reports, `selection` with nothing to select between, a
 * penalty on a health component this network always scores 1 on. Called once from
 * `checkTrainingRunSpec`; the trainer's objectives (trainer/tuning/objectives/) share the names.
 */
import { error, warning, type Diagnostic } from './diagnostic.js';
import { didYouMean } from './suggest.js';
import type { Task, TrainingRunSpec } from './training-run.js';

/** Objectives read from the artifact's model rather than metrics.json. */
export const ARTIFACT_OBJECTIVES = ['parameters', 'modelBytes'] as const;
export type ArtifactObjective = (typeof ARTIFACT_OBJECTIVES)[number];
export const isArtifactObjective = (name: string): name is ArtifactObjective =>
  (ARTIFACT_OBJECTIVES as readonly string[]).includes(name);

const REGRESSION_METRICS = ['loss', 'val_loss', 'val_mae', 'val_rmse', 'val_smape', 'val_r2'];

/**
 * The metrics.json `metrics` the builtin trainer writes per task (trainer/run-training.ts: the
 * losses and trainer/metrics/ prefixed with `val_`; forecasting adds MASE, issue 17 item 7).
 */
export const TASK_METRICS: Readonly<Record<Task, readonly string[]>> = {
  regression: REGRESSION_METRICS,
  forecasting: [...REGRESSION_METRICS, 'val_mase'],
  classification: ['loss', 'val_loss', 'val_accuracy', 'val_macro_f1'],
};

const MEDIAN_OPTIONS = ['warmupEpochs', 'startupTrials'] as const;
const RUNG_OPTIONS = ['minEpochs', 'eta'] as const;

type Tuning = NonNullable<TrainingRunSpec['tuning']>;

export function checkTuningObjectives(spec: TrainingRunSpec): Diagnostic[] {
  const tuning = spec.tuning;
  if (!tuning) return [];
  return [...checkPruner(spec, tuning), ...checkObjectives(spec, tuning), ...checkPenalties(spec, tuning)];
}

function checkPruner(spec: TrainingRunSpec, tuning: Tuning): Diagnostic[] {
  const pruner = tuning.pruner;
  if (!pruner) return [];
  const out: Diagnostic[] = [];
  const path = ['spec', 'tuning', 'pruner'];
  const misplaced = (options: readonly (keyof typeof pruner)[]) =>
    options.filter((o) => pruner[o] !== undefined);
  if (pruner.type !== 'median') {
    for (const option of misplaced(MEDIAN_OPTIONS))
      out.push(
        error('tuning-pruner-option', `pruner.${option} applies to \`type: median\`, not ${pruner.type}`, {
          path: [...path, option],
          hint: `remove ${option}, or use \`type: median\``,
        }),
      );
  }
  if (pruner.type !== 'asha' && pruner.type !== 'hyperband') {
    for (const option of misplaced(RUNG_OPTIONS))
      out.push(
        error(
          'tuning-pruner-option',
          `pruner.${option} applies to \`type: asha\` and \`type: hyperband\`, not ${pruner.type}`,
          { path: [...path, option], hint: `remove ${option}, or use \`type: asha\`` },
        ),
      );
  }
  const epochs = spec.trainer.builtin?.hyperparameters.epochs;
  if (epochs === undefined) return out;
  if (pruner.minEpochs !== undefined && pruner.minEpochs >= epochs) {
    out.push(
      error(
        'tuning-pruner-min-epochs',
        `pruner.minEpochs (${pruner.minEpochs}) must be below the epochs (${epochs}): the first rung would come after training ends`,
        {
          path: [...path, 'minEpochs'],
          hint: `use a minEpochs below ${epochs}, or raise hyperparameters.epochs`,
        },
      ),
    );
  }
  if (pruner.type === 'median' && (pruner.startupTrials ?? 5) >= tuning.trials) {
    out.push(
      warning(
        'tuning-pruner-never',
        `the median pruner waits for ${pruner.startupTrials ?? 5} completed trials, and the search has ${tuning.trials}: no trial will be pruned`,
        {
          path: [...path, pruner.startupTrials === undefined ? 'type' : 'startupTrials'],
          hint: `set startupTrials below ${tuning.trials}, or raise trials`,
        },
      ),
    );
  }
  if (pruner.type === 'median' && (pruner.warmupEpochs ?? 0) >= epochs) {
    out.push(
      warning(
        'tuning-pruner-never',
        `pruner.warmupEpochs (${pruner.warmupEpochs}) is not below the epochs (${epochs}): no trial will be pruned`,
        { path: [...path, 'warmupEpochs'], hint: `use a warmupEpochs below ${epochs}` },
      ),
    );
  }
  return out;
}

function checkObjectives(spec: TrainingRunSpec, tuning: Tuning): Diagnostic[] {
  const out: Diagnostic[] = [];
  const objectives = tuning.objectives ?? [];
  if (tuning.selection !== undefined && objectives.length === 0) {
    out.push(
      error('tuning-selection', '`selection` chooses among Pareto-optimal trials and needs `objectives`', {
        path: ['spec', 'tuning', 'selection'],
        hint: 'add objectives (e.g. `[{metric: parameters, goal: minimize}]`), or remove selection',
      }),
    );
  }
  const task = spec.trainer.builtin?.task;
  const known = task ? [...TASK_METRICS[task], ...ARTIFACT_OBJECTIVES] : undefined;
  const seen = new Set<string>([tuning.metric]);
  objectives.forEach(({ metric }, i) => {
    const path = ['spec', 'tuning', 'objectives', i, 'metric'];
    if (metric === tuning.metric) {
      out.push(
        error('tuning-objective-duplicate', `objective "${metric}" is already the tuning \`metric\``, {
          path,
          hint: '`metric` is the first objective; list only further ones here',
        }),
      );
    } else if (seen.has(metric)) {
      out.push(
        error('tuning-objective-duplicate', `objective "${metric}" is listed twice`, {
          path,
          hint: 'list each objective once',
        }),
      );
    } else if (known && !known.includes(metric)) {
      out.push(
        error('tuning-objective-unknown', `the ${task} trainer reports no metric "${metric}"`, {
          path,
          hint: didYouMean(metric, known) ?? `use one of ${known.join(', ')}`,
        }),
      );
    }
    seen.add(metric);
  });
  return out;
}

/**
 * A penalty whose component is 1 for every trial of this search adds nothing: a warning, not an
 * error, since the manifest still means what it says. Dead units are counted in ReLU dense layers
 * only (trainer/health/dead-neurons.ts): none in an mlp of another activation, nor in lstm/gru
 * networks (their cells keep tanh), unless the space tunes the activation or type.
 */
function checkPenalties(spec: TrainingRunSpec, tuning: Tuning): Diagnostic[] {
  const network = spec.trainer.builtin?.network;
  if (tuning.penalties?.deadNeurons === undefined || !network) return [];
  const tuned = (key: string) => Object.hasOwn(tuning.space, key);
  const recurrent = network.type !== 'mlp' && !tuned('network.type');
  const noRelu = network.activation !== 'relu' && !tuned('network.activation');
  if (!recurrent && !noRelu) return [];
  const why = recurrent
    ? `a ${network.type} network has no ReLU layers`
    : `activation ${network.activation} is not ReLU`;
  return [
    warning(
      'tuning-penalty-no-effect',
      `penalties.deadNeurons has no effect: ${why}, so no unit counts as dead`,
      {
        path: ['spec', 'tuning', 'penalties', 'deadNeurons'],
        hint: recurrent ? 'remove it' : 'remove it, or use `network.activation: relu`',
      },
    ),
  ];
}
