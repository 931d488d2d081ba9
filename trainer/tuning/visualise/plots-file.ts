/**
 * `tuning-plots.json`, written next to tuning.json: the study's plots as data a dashboard draws
 * without recomputing anything (positions normalised, best-so-far computed, importance fitted).
 * A TypeBox schema because the controller's web API reads it back from the artifact.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { StringEnum } from '../../../resources/schema-helpers.js';
import { TRIAL_STATES } from '../tuning-file.js';

export const TUNING_PLOTS_FILE = 'tuning-plots.json';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Goal = StringEnum(['minimize', 'maximize'] as const);

export const AXIS_KINDS = ['linear', 'log', 'categorical'] as const;

const HistoryPointSchema = Type.Object({
  trial: Type.Integer(),
  state: StringEnum(TRIAL_STATES),
  /** The trial's score (its metric when no penalties apply); null when it failed or has none yet. */
  value: Nullable(Type.Number()),
  /** The best value of the trials up to this one (completed or pruned, as the engine ranks them). */
  best: Nullable(Type.Number()),
});

const AxisSchema = Type.Object({
  /** The space key (`learningRate`), or `score` for the last axis. */
  key: Type.String(),
  label: Type.String(),
  kind: StringEnum(AXIS_KINDS),
  /** linear and log: the ends of the axis (the space's range, or the observed scores). */
  domain: Type.Optional(Type.Tuple([Type.Number(), Type.Number()])),
  /** categorical: the values in axis order, bottom to top, as shown. */
  categories: Type.Optional(Type.Array(Type.String())),
});
export type PlotAxis = Static<typeof AxisSchema>;

const ParallelRowSchema = Type.Object({
  trial: Type.Integer(),
  state: StringEnum(TRIAL_STATES),
  score: Nullable(Type.Number()),
  /** Per axis, in `axes` order: the position in [0, 1] (0 at the bottom); null when the trial has no value. */
  positions: Type.Array(Nullable(Type.Number())),
  /** Per axis: the value as shown (numbers raw, lists as `64x32`). */
  values: Type.Array(Nullable(Type.Union([Type.Number(), Type.String()]))),
});
export type ParallelRow = Static<typeof ParallelRowSchema>;

const ImportanceSchema = Type.Object({
  /** How the importances were computed (see importance.ts). */
  method: Type.String(),
  /** Trials the surrogate was fitted on. */
  trials: Type.Integer(),
  /** Space keys, most important first; each in [0, 1], summing to 1. */
  params: Type.Array(Type.Object({ key: Type.String(), importance: Type.Number() })),
});
export type ImportancePlot = Static<typeof ImportanceSchema>;

const ParetoSchema = Type.Object({
  /** The first two objectives: the tuning metric and `objectives[0]`. */
  x: Type.Object({ metric: Type.String(), goal: Goal }),
  y: Type.Object({ metric: Type.String(), goal: Goal }),
  points: Type.Array(
    Type.Object({ trial: Type.Integer(), x: Type.Number(), y: Type.Number(), front: Type.Boolean() }),
  ),
});
export type ParetoPlot = Static<typeof ParetoSchema>;

export const TuningPlotsSchema = Type.Object({
  formatVersion: Type.Literal(1),
  metric: Type.String(),
  goal: Goal,
  /** What `value` and the score axis are: `score` (metric worsened by penalties) or the metric itself. */
  valueLabel: Type.String(),
  history: Type.Array(HistoryPointSchema),
  parallel: Type.Object({ axes: Type.Array(AxisSchema), rows: Type.Array(ParallelRowSchema) }),
  /** Absent while fewer than three trials have a value, or when no parameter explains any variation. */
  importance: Type.Optional(ImportanceSchema),
  /** Multi-objective studies only. */
  pareto: Type.Optional(ParetoSchema),
});
export type TuningPlots = Static<typeof TuningPlotsSchema>;
export type HistoryPoint = Static<typeof HistoryPointSchema>;
