/**
 * `spec.tuning` as a Vertex AI Vizier study (the HyperparameterTuningJob's `studySpec`), and what
 * Vizier cannot do, as plan problems (README.md "Tuning"). The issue's rule: a manifest never means
 * something else on Vertex than locally; what Vizier lacks is refused with the field and a fix, and
 * a documented close substitute (the median stopping rule) plans with a note.
 *
 * Vizier's vocabulary (study.proto): algorithms ALGORITHM_UNSPECIFIED (its default, Gaussian-process
 * bandit Bayesian optimisation), GRID_SEARCH (INTEGER, CATEGORICAL and DISCRETE parameters only) and
 * RANDOM_SEARCH; automated stopping by the median or the decay-curve rule; conditional parameters
 * under a DISCRETE, INTEGER or CATEGORICAL parent; several metrics (multi-objective).
 */
import type { protos } from '@google-cloud/aiplatform';
import type { FieldPath } from '../../resources/diagnostic.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { categoryOf, layerUnitsId } from '../../trainer/tuning/hypertune.js';

type StudySpec = protos.google.cloud.aiplatform.v1.IStudySpec;
type ParameterSpec = protos.google.cloud.aiplatform.v1.StudySpec.IParameterSpec;
type ConditionalSpec = protos.google.cloud.aiplatform.v1.StudySpec.ParameterSpec.IConditionalParameterSpec;
type Tuning = NonNullable<TrainingRunSpec['tuning']>;
type Dimension = Tuning['space'][string];

/** The sampler a tuning block means: `sampler.type`, else random (both `algorithm` shorthands sample at random). */
export const samplerOf = (tuning: Tuning): string => tuning.sampler?.type ?? 'random';

/** The pruner a tuning block means: `pruner.type`, else asha for `algorithm: halving`, none for `random`. */
export const prunerOf = (tuning: Tuning): string =>
  tuning.pruner?.type ?? (tuning.algorithm === 'halving' ? 'asha' : 'none');

const ALGORITHMS: Record<string, StudySpec['algorithm']> = {
  random: 'RANDOM_SEARCH',
  grid: 'GRID_SEARCH',
  bayesian: 'ALGORITHM_UNSPECIFIED',
};

/**
 * The failed trials after which Vertex stops the study: half the trials (at least one). A broken
 * trainer fails every trial the same way and should not burn the whole budget; a few diverging
 * parameter sets (no finite metric, so the trial fails) must not end a study that is mostly fine.
 */
export const maxFailedTrials = (trials: number): number => Math.max(1, Math.ceil(trials / 2));

/**
 * `uniform`/`logUniform` with `points` as the grid's values: evenly spaced from low to high (in log
 * space for logUniform), both ends included, rounded to 12 significant digits so the value a trial
 * gets back as `--<id>=<value>` prints short.
 */
export function gridPoints(dimension: Dimension): number[] | undefined {
  const range = dimension.uniform ?? dimension.logUniform;
  const points = dimension.points;
  if (!range || points === undefined || points < 2) return undefined;
  const log = dimension.logUniform !== undefined;
  const [low, high] = log ? [Math.log(range[0]), Math.log(range[1])] : [range[0], range[1]];
  const values = Array.from({ length: points }, (_, i) => {
    const x = low + ((high - low) * i) / (points - 1);
    return Number((log ? Math.exp(x) : x).toPrecision(12));
  });
  return [...new Set(values)].sort((a, b) => a - b);
}

const numeric = (values: readonly unknown[]): values is number[] =>
  values.length > 0 && values.every((v) => typeof v === 'number' && Number.isFinite(v));

/** Which Vizier parameter type a dimension becomes (layers: its INTEGER count). */
export function parameterType(
  dimension: Dimension,
  sampler: string,
): 'DOUBLE' | 'INTEGER' | 'DISCRETE' | 'CATEGORICAL' {
  if (dimension.layers || dimension.int) return 'INTEGER';
  if (dimension.choice) return numeric(dimension.choice) ? 'DISCRETE' : 'CATEGORICAL';
  return sampler === 'grid' && gridPoints(dimension) ? 'DISCRETE' : 'DOUBLE';
}

/** One dimension's own value spec (no conditions). */
function valueSpec(parameterId: string, d: Dimension, sampler: string): ParameterSpec {
  const grid = sampler === 'grid' ? gridPoints(d) : undefined;
  if (grid) return { parameterId, discreteValueSpec: { values: grid } };
  if (d.logUniform) {
    return {
      parameterId,
      doubleValueSpec: { minValue: d.logUniform[0], maxValue: d.logUniform[1] },
      scaleType: 'UNIT_LOG_SCALE',
    };
  }
  if (d.uniform) {
    return {
      parameterId,
      doubleValueSpec: { minValue: d.uniform[0], maxValue: d.uniform[1] },
      scaleType: 'UNIT_LINEAR_SCALE',
    };
  }
  const int = d.int ?? d.layers?.count;
  if (int) {
    return {
      parameterId,
      integerValueSpec: { minValue: String(int[0]), maxValue: String(int[1]) },
      scaleType: 'UNIT_LINEAR_SCALE',
    };
  }
  const choices = d.choice ?? [];
  if (numeric(choices)) {
    // Vertex wants the discrete values in increasing order.
    return { parameterId, discreteValueSpec: { values: [...new Set(choices)].sort((a, b) => a - b) } };
  }
  return { parameterId, categoricalValueSpec: { values: [...new Set(choices.map(categoryOf))] } };
}

/** The condition "the parent took one of `values`", in the parent's own type. */
function parentCondition(
  parent: Dimension,
  values: readonly unknown[],
  sampler: string,
): Omit<ConditionalSpec, 'parameterSpec'> {
  switch (parameterType(parent, sampler)) {
    case 'INTEGER':
      return { parentIntValues: { values: values.map((v) => String(v)) } };
    case 'DISCRETE':
      return { parentDiscreteValues: { values: values.map(Number) } };
    default:
      return { parentCategoricalValues: { values: values.map(categoryOf) } };
  }
}

/**
 * A `layers` dimension: the INTEGER count under the key, and per layer i an INTEGER units
 * parameter `<key>.<i>` (log scale) active when the count is at least i. The trainer rebuilds the
 * list `[units of 1, ..., units of count]` from them (hypertune.ts `parseParameterArgs`).
 */
function layerConditions(key: string, d: Dimension): ConditionalSpec[] {
  const layers = d.layers;
  if (!layers) return [];
  const [low, high] = layers.count;
  return Array.from({ length: high }, (_, index): ConditionalSpec => {
    const layer = index + 1;
    const counts = Array.from({ length: high - Math.max(layer, low) + 1 }, (_, j) =>
      String(Math.max(layer, low) + j),
    );
    return {
      parentIntValues: { values: counts },
      parameterSpec: {
        parameterId: layerUnitsId(key, layer),
        integerValueSpec: { minValue: String(layers.units[0]), maxValue: String(layers.units[1]) },
        scaleType: 'UNIT_LOG_SCALE',
      },
    };
  });
}

/**
 * `tuning.space` as the study's parameters, ids = the space's keys, sorted. A key with `when` is a
 * conditional parameter under the key it names (nested as deep as the `when` chain goes).
 */
export function studyParameters(space: Tuning['space'], sampler = 'random'): ParameterSpec[] {
  const keys = Object.keys(space).sort();
  const build = (key: string, seen: ReadonlySet<string>): ParameterSpec => {
    const d = space[key];
    const children = keys
      .filter((k) => space[k].when?.key === key && !seen.has(k))
      .map((k): ConditionalSpec => ({
        ...parentCondition(d, space[k].when?.in ?? [], sampler),
        parameterSpec: build(k, new Set([...seen, k])),
      }));
    const conditional = [...layerConditions(key, d), ...children];
    return {
      ...valueSpec(key, d, sampler),
      ...(conditional.length > 0 && { conditionalParameterSpecs: conditional }),
    };
  };
  // A `when` naming a key outside the space is a plan error; the key then stays a plain parameter.
  return keys
    .filter((k) => {
      const parent = space[k].when?.key;
      return parent === undefined || !Object.hasOwn(space, parent);
    })
    .map((k) => build(k, new Set([k])));
}

/**
 * The study spec. Unsupported choices (tpe, asha, hyperband) are refused at plan time
 * (`vizierProblems`), so apply never builds them; if one got here it would get Vizier's default
 * search and no stopping.
 */
export function studySpecOf(tuning: Tuning): StudySpec {
  const sampler = samplerOf(tuning);
  const goal = (g: string): 'MAXIMIZE' | 'MINIMIZE' => (g === 'maximize' ? 'MAXIMIZE' : 'MINIMIZE');
  return {
    metrics: [
      { metricId: tuning.metric, goal: goal(tuning.goal) },
      ...(tuning.objectives ?? []).map((o) => ({ metricId: o.metric, goal: goal(o.goal) })),
    ],
    parameters: studyParameters(tuning.space, sampler),
    algorithm: ALGORITHMS[sampler] ?? 'ALGORITHM_UNSPECIFIED',
    ...(prunerOf(tuning) === 'median' && {
      medianAutomatedStoppingSpec: { useElapsedDuration: false },
      // The trial reports every epoch and then its final (penalised) value last: that one counts.
      measurementSelectionType: 'LAST_MEASUREMENT' as const,
    }),
  };
}

export interface VizierProblem {
  code: string;
  path: FieldPath;
  message: string;
  hint: string;
  severity: 'error' | 'warning';
}

const IN_JOB =
  "or keep it with the provider setting `tuning: 'in-job'` (one machine runs mlform's own search)";

/**
 * What a HyperparameterTuningJob cannot run as the manifest says: errors at the field, with the
 * fix, and the median rule's note. Paths are relative to the document root.
 */
export function vizierProblems(tuning: Tuning): VizierProblem[] {
  const out: VizierProblem[] = [];
  const base = ['spec', 'tuning'];
  const sampler = samplerOf(tuning);
  if (sampler === 'tpe') {
    out.push({
      code: 'tuning-sampler',
      path: [...base, 'sampler', 'type'],
      message: 'Vertex AI Vizier has no TPE sampler (Tree-structured Parzen Estimator)',
      hint: `use \`sampler: {type: bayesian}\` (Vizier's default, Gaussian-process bandit) or \`random\`, ${IN_JOB}`,
      severity: 'error',
    });
  }
  const pruner = prunerOf(tuning);
  if (pruner === 'asha' || pruner === 'hyperband') {
    const explicit = tuning.pruner !== undefined;
    const what = pruner === 'asha' ? 'successive halving (ASHA)' : 'Hyperband';
    out.push({
      code: explicit ? 'tuning-pruner' : 'tuning-algorithm',
      path: explicit ? [...base, 'pruner', 'type'] : [...base, 'algorithm'],
      message: explicit
        ? `Vertex AI Vizier has no ${what}: its automated stopping rules are median and decay-curve`
        : '`algorithm: halving` (the default) stops trials by successive halving, which Vertex AI Vizier does not have: every trial would train its full epochs',
      hint: `set \`pruner: {type: median}\` (Vizier's median stopping rule) or ${explicit ? '`pruner: {type: none}`' : '`algorithm: random`'} (no early stopping), ${IN_JOB}`,
      severity: 'error',
    });
  }
  if (pruner === 'median') {
    for (const option of ['warmupEpochs', 'startupTrials'] as const) {
      if (tuning.pruner?.[option] === undefined) continue;
      out.push({
        code: 'tuning-pruner-option',
        path: [...base, 'pruner', option],
        message: `Vizier's median stopping rule has no ${option}: it stops trials from the first completed trial on`,
        hint: `remove ${option}, ${IN_JOB}`,
        severity: 'error',
      });
    }
    out.push({
      code: 'tuning-median',
      path: [...base, 'pruner', 'type'],
      message:
        "Vizier's median rule (medianAutomatedStoppingSpec) differs from mlform's: it stops a trial when its best value so far is worse than the median, over completed trials only, of each trial's running average of the values it reported up to that epoch; mlform compares with the median of the other trials' values at the same epoch",
      hint: "expect fewer or later stops than locally; the in-job search (provider setting `tuning: 'in-job'`) applies mlform's rule",
      severity: 'warning',
    });
  }
  // A grid over a continuous range, a `when` on a continuous or unknown parent or a cycle, and an
  // objective listed twice are refused for every provider (resources/tuning-space-checks.ts,
  // tuning-objective-checks.ts): Vizier's own rules for them are the same.
  return out;
}
