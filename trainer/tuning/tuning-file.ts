/**
 * `tuning.json`, written next to the artifact of a tuned run: the settings, the epoch schedule,
 * every trial with each of its trainings (one per rung it reached), and the best trial. It is
 * rewritten after every trial so a reader can follow a running search. A TypeBox schema, like
 * metrics.json and run.json, because providers and the UI read it back.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { StringEnum } from '../../resources/schema-helpers.js';

export const TUNING_FILE = 'tuning.json';
export const TRIALS_DIR = 'trials';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const TRIAL_STATES = ['pending', 'running', 'completed', 'pruned', 'failed', 'cancelled'] as const;

const TrialRunSchema = Type.Object({
  rung: Type.Integer(),
  /** Cumulative epoch budget of this training. */
  budget: Type.Integer(),
  /** Resumed from the previous rung's checkpoint rather than trained from scratch. */
  resumed: Type.Boolean(),
  state: StringEnum(['succeeded', 'failed', 'cancelled'] as const),
  /** The tuning metric after this training; null when it failed or was not finite. */
  metric: Nullable(Type.Number()),
  /** Epochs the trial has trained in total (fewer than `budget` after an early stop). */
  epochs: Nullable(Type.Integer()),
  startedAt: Type.String(),
  finishedAt: Type.String(),
  seconds: Type.Number(),
  error: Type.Optional(Type.String()),
});
export type TrialRun = Static<typeof TrialRunSchema>;

const TrialRecordSchema = Type.Object({
  /** 1-based, as in `trial` progress events. */
  trial: Type.Integer(),
  /** Artifact directory relative to the run's: `trials/<trial>`. */
  dir: Type.String(),
  params: Type.Record(Type.String(), Type.Unknown()),
  /**
   * pending: waiting for its first or next rung; running; completed: trained in the last rung;
   * pruned: not promoted past `rung` (its artifact is that rung's); failed: its last training
   * failed, or its sampled values make an invalid spec; cancelled: the search stopped first.
   */
  state: StringEnum(TRIAL_STATES),
  /** The last rung it trained in; null before it first trains. */
  rung: Nullable(Type.Integer()),
  /** Budget and trained epochs of its latest training. */
  budget: Nullable(Type.Integer()),
  epochs: Nullable(Type.Integer()),
  /** The tuning metric of its artifact (its latest successful training). */
  metric: Nullable(Type.Number()),
  /** Wall time over all its trainings. */
  seconds: Type.Number(),
  error: Type.Optional(Type.String()),
  runs: Type.Array(TrialRunSchema),
  /** Issue 17 (study-types.ts): [metric, ...objectives] of its artifact, raw; null when missing. */
  values: Type.Optional(Type.Array(Nullable(Type.Number()))),
  /** The metric worsened by the health penalties: what ranks trials. */
  score: Type.Optional(Nullable(Type.Number())),
  penalty: Type.Optional(
    Type.Object({ total: Type.Number(), parts: Type.Record(Type.String(), Type.Number()) }),
  ),
  /** The tuning metric after each epoch, as the pruner saw it. */
  intermediate: Type.Optional(Type.Array(Type.Object({ epoch: Type.Integer(), value: Type.Number() }))),
  /** Why and when the pruner stopped it. */
  prunedAt: Type.Optional(Type.Object({ epoch: Type.Integer(), reason: Type.String() })),
  /** hyperband: the bracket the trial ran in. */
  bracket: Type.Optional(Type.Integer()),
});
export type TrialRecord = Static<typeof TrialRecordSchema>;

export const TuningFileSchema = Type.Object({
  formatVersion: Type.Literal(1),
  state: StringEnum(['running', 'succeeded', 'failed', 'cancelled'] as const),
  algorithm: StringEnum(['random', 'halving'] as const),
  metric: Type.String(),
  goal: StringEnum(['minimize', 'maximize'] as const),
  parallel: Type.Integer(),
  /** Trials trained at once: `parallel` clamped to the training slots (worker-limit.ts). */
  workers: Type.Optional(Type.Integer()),
  /** Halving only: the fraction 1/eta of a rung is promoted, budgets grow by eta. */
  eta: Type.Optional(Type.Integer()),
  schedule: Type.Array(Type.Object({ rung: Type.Integer(), trials: Type.Integer(), epochs: Type.Integer() })),
  space: Type.Record(Type.String(), Type.Unknown()),
  startedAt: Type.String(),
  finishedAt: Type.Optional(Type.String()),
  seconds: Type.Optional(Type.Number()),
  /** The trial whose artifact was copied into the run's directory. */
  best: Type.Optional(
    Type.Object({
      trial: Type.Integer(),
      dir: Type.String(),
      params: Type.Record(Type.String(), Type.Unknown()),
      metric: Type.Number(),
      epochs: Type.Integer(),
      score: Type.Optional(Type.Number()),
      values: Type.Optional(Type.Array(Nullable(Type.Number()))),
    }),
  ),
  error: Type.Optional(Type.String()),
  trials: Type.Array(TrialRecordSchema),
  /** Issue 17: the sampler and pruner that ran (algorithm stays for readers of the first version). */
  sampler: Type.Optional(Type.Object({ type: Type.String() }, { additionalProperties: true })),
  pruner: Type.Optional(
    Type.Object({ type: Type.String(), rungs: Type.Optional(Type.Array(Type.Array(Type.Integer()))) }),
  ),
  objectives: Type.Optional(Type.Array(Type.Object({ metric: Type.String(), goal: Type.String() }))),
  selection: Type.Optional(Type.String()),
  penalties: Type.Optional(Type.Record(Type.String(), Type.Number())),
  /** Multi-objective: the trials on the Pareto front of [metric, ...objectives]. */
  pareto: Type.Optional(Type.Array(Type.Integer())),
  /** Parameter importance (visualise/), each in [0, 1], summing to 1. */
  importance: Type.Optional(Type.Record(Type.String(), Type.Number())),
});
export type TuningFile = Static<typeof TuningFileSchema>;
