/**
 * The files of a trainer artifact (docs/architecture.md "Trainer artifact"). metrics.json and run.json
 * are read back by providers (registration gate, lineage), so their shapes are TypeBox schemas.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ARTIFACT_LIMITS } from './limits.js';
import { storeFor, joinUri, readBounded } from './storage.js';

export const ARTIFACT_FILES = {
  model: 'model.json',
  weights: 'weights.bin',
  preprocess: 'preprocess.json',
  metrics: 'metrics.json',
  history: 'history.json',
  run: 'run.json',
  tensorboard: 'tensorboard',
} as const;

const NumberMap = Type.Record(Type.String(), Type.Number());

export const MetricsFileSchema = Type.Object({
  formatVersion: Type.Literal(1),
  task: Type.String(),
  /** Validation metrics in original units (`val_mae`, `val_accuracy`, ...) plus `loss`/`val_loss`. */
  metrics: NumberMap,
  /** The naive baseline's metrics on the same validation split, same names. */
  baseline: NumberMap,
  /** Model MAE / baseline MAE (regression, forecasting) or model accuracy / baseline accuracy. */
  ratioToBaseline: Type.Union([Type.Number(), Type.Null()]),
  baselineKind: Type.String(),
  /**
   * Forecasting: the season (`window.season`, inferred from the time column, or none and why),
   * MASE's in-sample scale, and the model against the seasonal-naive baseline, whose metrics are
   * in `baseline` as `seasonal_naive_<name>` (trainer/metrics/baseline.ts `ForecastReport`).
   */
  forecast: Type.Optional(
    Type.Object({
      season: Type.Union([Type.Integer(), Type.Null()]),
      seasonSource: Type.String(),
      maseScale: Type.Union([Type.Number(), Type.Null()]),
      maseScaleLag: Type.Integer(),
      ratioToSeasonalNaive: Type.Union([Type.Number(), Type.Null()]),
      seasonalNaive: Type.Optional(Type.String()),
    }),
  ),
  health: Type.Unknown(),
  confusionMatrix: Type.Optional(
    Type.Object({ labels: Type.Array(Type.String()), matrix: Type.Array(Type.Array(Type.Number())) }),
  ),
  backend: Type.Object({
    backend: Type.String(),
    devices: Type.Array(Type.String()),
    package: Type.String(),
  }),
  training: Type.Object({
    epochs: Type.Integer(),
    bestEpoch: Type.Integer(),
    stoppedEarly: Type.Boolean(),
    diverged: Type.Boolean(),
    resumedFromEpoch: Type.Optional(Type.Integer()),
    steps: Type.Integer(),
    seconds: Type.Number(),
    stepKind: Type.String(),
  }),
});
export type MetricsFile = Static<typeof MetricsFileSchema>;

export const RunFileSchema = Type.Object({
  formatVersion: Type.Literal(1),
  name: Type.Optional(Type.String()),
  specHash: Type.String(),
  spec: Type.Unknown(),
  /** The builtin trainer's data; absent for your own trainer (mlform does not see what it read). */
  data: Type.Optional(
    Type.Object({
      uri: Type.String(),
      sha256: Type.String(),
      bytes: Type.Integer(),
      rows: Type.Object({
        total: Type.Integer(),
        train: Type.Integer(),
        validation: Type.Integer(),
        dropped: Type.Integer(),
      }),
      columnTypes: Type.Record(Type.String(), Type.String()),
    }),
  ),
  gitCommit: Type.Optional(Type.String()),
  startedAt: Type.String(),
  finishedAt: Type.String(),
  seconds: Type.Number(),
  backend: Type.String(),
  mlformVersion: Type.String(),
});
export type RunFile = Static<typeof RunFileSchema>;

/** JSON with non-finite numbers as null (JSON has no Infinity), pretty for people who open it. */
export const toJsonText = (value: unknown): string =>
  `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;

export async function writeJsonFile(dirUri: string, name: string, value: unknown): Promise<void> {
  const uri = joinUri(dirUri, name);
  await storeFor(uri).write(uri, toJsonText(value));
}

/** Reads one of the artifact's JSON files, refused unread when over `ARTIFACT_LIMITS.jsonBytes`. */
export async function readJsonFile(dirUri: string, name: string): Promise<unknown> {
  const uri = joinUri(dirUri, name);
  const maxBytes =
    name === ARTIFACT_FILES.preprocess ? ARTIFACT_LIMITS.preprocessBytes : ARTIFACT_LIMITS.jsonBytes;
  return JSON.parse((await readBounded(uri, maxBytes)).toString('utf8')) as unknown;
}
