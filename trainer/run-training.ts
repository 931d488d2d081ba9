/**
 * One builtin training from spec to artifact: backend, data, network, training loop, final
 * metrics in original units against the naive baseline, model health, TensorBoard logs, and the
 * artifact (docs/architecture.md "Trainer artifact"). Used by `mlform train` and the training container.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir, hostname } from 'node:os';
import { dirname, join, relative } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { TrainingRunSpec } from '../resources/training-run.js';
import { specHash as hashSpec } from '../resources/spec-hash.js';
import { formatPath } from '../resources/diagnostic.js';
import { ARTIFACT_FILES, writeJsonFile, type MetricsFile, type RunFile } from '../artifact/files.js';
import { checkTrainable, selectBackend, type BackendInfo } from '../artifact/tfjs-backend.js';
import { DATA_CACHE_ENV } from './data/prepared-cache.js';
import { loadPrepared, statisticsFeatures } from './data/load-prepared.js';
import { assessHealth, healthScalars } from './health/assess-health.js';
import {
  baselineMetrics,
  evaluate,
  evaluateConfusion,
  decodeClasses,
  decodeNumbers,
  forecastBaselines,
  ratioToBaseline,
  seasonalNaiveNames,
} from './metrics/index.js';
import { saveModel } from '../artifact/model-io.js';
import { gitCommitAt } from './git-commit.js';
import { findTreeRoot } from '../manifests/tree-root.js';
import { modelSummary } from './network/build-network.js';
import { isGcsUri, joinUri, storeFor } from '../artifact/storage.js';
import {
  SummaryWriter,
  confusionMatrixPng,
  flattenConfig,
  markdownTable,
  scatterPng,
} from './tensorboard/index.js';
import { tensorboardObserver, scalarTag } from './tensorboard-observer.js';
import { train } from './training/train.js';
import { referenceStatistics } from '../monitoring/reference.js';
import {
  STATISTICS_FILE,
  type FeatureStatistics,
  type ReferenceStatistics,
} from '../monitoring/statistics.js';
import { runTuning } from './tuning/run-tuning.js';
import type { PreparedData, ProgressEvent, Samples } from './types.js';

export interface RunTrainingOptions {
  spec: TrainingRunSpec;
  /** Folder that relative `file://` data URIs resolve against (the manifest's folder). */
  baseDir: string;
  /** Artifact directory: a local path or a gs:// URI. */
  outDir: string;
  onEvent: (event: ProgressEvent) => void;
  name?: string;
  /** Manifest file, for the git commit recorded in run.json. */
  manifestFile?: string;
  signal?: AbortSignal;
  mlformVersion?: string;
  env?: Record<string, string | undefined>;
  /** Asked after each epoch: true stops the training there (a pruned tuning trial; trainer/training). */
  stopAfterEpoch?: (epoch: number) => boolean | Promise<boolean>;
}

export class TrainingSetupError extends Error {
  override name = 'TrainingSetupError';
}

export interface RunTrainingResult {
  outDir: string;
  metrics: MetricsFile;
}

export async function runTraining(options: RunTrainingOptions): Promise<RunTrainingResult> {
  // Tuning: a search over trials (each a training like the one below, in a child process) whose
  // best artifact becomes this one. See trainer/tuning/README.md.
  if (options.spec.tuning) return runTuning(options);
  const { spec, outDir, onEvent } = options;
  const builtin = spec.trainer.builtin;
  if (!builtin)
    throw new TrainingSetupError(
      'this spec uses trainer.container: run that image instead of `mlform train`',
    );
  const startedAt = new Date();

  const accelerator = spec.resources.accelerator;
  const backend = await selectBackend({
    acceleratorRequested: accelerator !== undefined,
    accelerator,
    env: options.env,
  });
  const refused = checkTrainable(builtin.network, backend.backend);
  if (refused.length > 0) {
    throw new TrainingSetupError(
      refused.map((d) => `${d.path ? `${formatPath(d.path)}: ` : ''}${d.message}`).join('; '),
    );
  }

  // Cached when the launcher names a folder (trainer/data/prepared-cache.ts): trials share it, and
  // a hit parses nothing.
  const loaded = await loadPrepared(builtin, {
    baseDir: options.baseDir,
    cacheDir: options.env?.[DATA_CACHE_ENV],
    log: (message) => process.stderr.write(`${message}\n`),
    mlformVersion: options.mlformVersion,
  });
  const { data } = loaded;

  // Event files are appended as training goes; for gs:// they are written locally, uploaded at the end.
  const tbLocal = isGcsUri(outDir)
    ? await mkdtemp(join(tmpdir(), 'mlform-tb-'))
    : joinUri(outDir, ARTIFACT_FILES.tensorboard);
  const writer = await SummaryWriter.create(tbLocal, { hostname: hostname() });
  const hparams = hyperparameterValues(spec);
  writer.hparams(hparams, ['val/loss', ...metricTagsFor(data.task)]);
  writer.text('config/spec', markdownTable(flattenConfig(spec)), 0);

  let result;
  try {
    result = await train({
      data,
      builtin,
      outDir,
      // The loop's own `done` carries scaled metrics; ours below (original units) is the one to show.
      onEvent: (event) => {
        if (event.type !== 'done') onEvent(event);
      },
      signal: options.signal,
      stopAfterEpoch: options.stopAfterEpoch,
      stepInterval: spec.tensorboard.stepInterval,
      tensorboard: tensorboardObserver(writer, { histograms: spec.tensorboard.histograms }),
    });
  } catch (error) {
    writer.hparamsEnd('failure');
    await writer.close();
    throw error;
  }
  const { model } = result;
  writer.text('model/summary', `\`\`\`\n${modelSummary(model)}\n\`\`\``, 0);

  const predicted = predict(model, data.validation, data.preprocess.inputShape);
  const evaluated = evaluate(
    data.task,
    data.preprocess,
    data.validation.y,
    predicted,
    data.validation.anchor,
  );
  const naive = baselineMetrics(data.task, data.preprocess, data.train, data.validation);
  // Forecasting: MASE for both, and the seasonal-naive baseline beside the last value.
  const forecast =
    data.task === 'forecasting' && data.forecast
      ? forecastBaselines(
          data.forecast,
          data.validation,
          decodeNumbers(data.preprocess, data.validation.y, data.validation.anchor),
          evaluated,
          naive,
        )
      : undefined;
  const modelMetrics = forecast?.model ?? evaluated;
  const baseline = forecast?.lastValue ?? naive;
  const seasonalBaseline = seasonalNaiveNames(prefixed(forecast?.seasonalNaive ?? {}));
  const ratio = ratioToBaseline(data.task, modelMetrics, baseline);
  const health = assessHealth({ model, history: result.history, data, diverged: result.diverged });
  const best = result.finalMetrics;
  const metrics: Record<string, number> = { ...prefixed(modelMetrics) };
  for (const key of ['loss', 'val_loss']) if (best[key] !== undefined) metrics[key] = best[key];
  const lastEpoch = result.history.length;
  for (const [name, value] of Object.entries(prefixed(modelMetrics)))
    writer.scalar(`final/${name}`, value, lastEpoch);
  for (const [name, value] of Object.entries({ ...prefixed(baseline), ...seasonalBaseline }))
    writer.scalar(`baseline/${name}`, value, lastEpoch);
  for (const [name, value] of Object.entries(healthScalars(health))) writer.scalar(name, value, lastEpoch);

  let confusion: MetricsFile['confusionMatrix'];
  if (data.task === 'classification') {
    const cm = evaluateConfusion(data.preprocess, data.validation.y, predicted);
    confusion = { labels: cm.labels, matrix: cm.matrix };
    if (spec.tensorboard.images) {
      const image = await confusionMatrixPng(cm.matrix, cm.labels);
      writer.image('val/confusion_matrix', image.png, image.width, image.height, lastEpoch);
    }
  } else if (spec.tensorboard.images) {
    const actual = [...decodeNumbers(data.preprocess, data.validation.y, data.validation.anchor)];
    const guess = [...decodeNumbers(data.preprocess, predicted, data.validation.anchor)];
    const image = await scatterPng(actual, guess);
    writer.image('val/predicted_vs_actual', image.png, image.width, image.height, lastEpoch);
  }
  for (const [name, value] of Object.entries(metrics))
    if (Number.isFinite(value)) writer.scalar(scalarTag(name), value, lastEpoch);
  writer.hparamsEnd(result.diverged ? 'failure' : 'success');
  await writer.close();

  const metricsFile: MetricsFile = {
    formatVersion: 1,
    task: data.task,
    metrics,
    baseline: { ...prefixed(baseline), ...seasonalBaseline },
    ratioToBaseline: Number.isFinite(ratio) ? ratio : null,
    baselineKind:
      data.task === 'classification' ? 'majority class' : data.task === 'forecasting' ? 'last value' : 'mean',
    ...(forecast && { forecast: forecast.report }),
    health,
    ...(confusion && { confusionMatrix: confusion }),
    backend,
    training: {
      epochs: lastEpoch,
      bestEpoch: result.bestEpoch,
      stoppedEarly: result.stoppedEarly,
      diverged: result.diverged,
      ...(result.resumedFromEpoch !== undefined && { resumedFromEpoch: result.resumedFromEpoch }),
      steps: result.steps,
      seconds: result.seconds,
      stepKind: result.stepKind,
    },
  };

  await saveModel(model, outDir);
  await writeJsonFile(outDir, ARTIFACT_FILES.preprocess, data.preprocess);
  await writeJsonFile(outDir, ARTIFACT_FILES.history, result.history);
  await writeJsonFile(outDir, ARTIFACT_FILES.metrics, metricsFile);
  const trainSample = firstSamples(data.train, STATISTICS_PREDICTION_ROWS);
  const trainPredicted = predict(model, trainSample, data.preprocess.inputShape);
  await writeJsonFile(
    outDir,
    STATISTICS_FILE,
    trainingStatistics(
      data,
      await loaded.featureStatistics(),
      [
        { samples: trainSample, predicted: trainPredicted },
        { samples: data.validation, predicted },
      ],
      metrics,
    ),
  );
  if (isGcsUri(outDir)) {
    await uploadDirectory(tbLocal, [
      joinUri(outDir, ARTIFACT_FILES.tensorboard),
      ...streamedLogDir(options.env),
    ]);
  }
  const runFile = await runRecord(options, data, loaded.source, backend, startedAt);
  // run.json last: its presence means the artifact is complete.
  await writeJsonFile(outDir, ARTIFACT_FILES.run, runFile);
  onEvent({ type: 'done', metrics, seconds: (Date.now() - startedAt.getTime()) / 1000 });
  model.dispose();
  return { outDir, metrics: metricsFile };
}

/**
 * Training rows whose predictions go into statistics.json next to the validation ones: the
 * validation split alone (20% of a few hundred rows) made the prediction's reference so noisy that
 * the very population it was trained on scored PSI 0.2 against it.
 */
const STATISTICS_PREDICTION_ROWS = 20_000;

/** The first `n` samples of a split (a view, no copy). */
function firstSamples(samples: Samples, n: number): Samples {
  if (samples.count <= n) return samples;
  const width = samples.x.length / samples.count;
  const ySize = samples.y.length / samples.count;
  return {
    x: samples.x.subarray(0, n * width),
    y: samples.y.subarray(0, n * ySize),
    count: n,
    ...(samples.anchor && { anchor: samples.anchor.subarray(0, n) }),
    ...(samples.rowIndex && { rowIndex: samples.rowIndex.subarray(0, n) }),
  };
}

/**
 * statistics.json: the raw input features of the training rows (as clients send them) and the
 * model's outputs in original units on the training sample and the validation split, the
 * reference drift is measured against.
 */
function trainingStatistics(
  data: PreparedData,
  features: Record<string, FeatureStatistics>,
  outputs: readonly { samples: Samples; predicted: Float32Array }[],
  metrics: Record<string, number>,
): ReferenceStatistics {
  const { preprocess } = data;
  const target = preprocess.target;
  const predictions =
    target.type === 'label'
      ? outputs.flatMap(({ predicted }) =>
          Array.from(decodeClasses(preprocess, predicted), (i) => target.labels[i]),
        )
      : Float64Array.from(
          outputs.flatMap(({ samples, predicted }) => [
            ...decodeNumbers(preprocess, predicted, samples.anchor),
          ]),
        );
  // The features' statistics come from loadPrepared (kept beside the prepared data): no rows here.
  return referenceStatistics(
    {
      rows: [],
      train: data.train.rowIndex ?? [],
      features: statisticsFeatures(data),
      predictions,
      validation: metrics,
    },
    features,
  );
}

/** Network outputs for a split, in one batch: validation sets are small next to training. */
function predict(model: tf.LayersModel, samples: Samples, inputShape: number[]): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor(samples.x, [samples.count, ...inputShape]);
    const y = model.predict(x) as tf.Tensor;
    return y.dataSync() as Float32Array;
  });
}

const prefixed = (metrics: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k.startsWith('val_') ? k : `val_${k}`, v]));

const metricTagsFor = (task: string): string[] =>
  task === 'classification'
    ? ['val/accuracy', 'val/macro_f1']
    : ['val/mae', 'val/rmse', 'val/smape', 'val/r2'];

function hyperparameterValues(spec: TrainingRunSpec): Record<string, number | string | boolean> {
  const b = spec.trainer.builtin;
  if (!b) return {};
  return {
    task: b.task,
    'network.type': b.network.type,
    'network.layers': b.network.layers.join('x'),
    'network.activation': b.network.activation,
    'network.dropout': b.network.dropout,
    epochs: b.hyperparameters.epochs,
    batchSize: b.hyperparameters.batchSize,
    learningRate: b.hyperparameters.learningRate,
    optimizer: b.hyperparameters.optimizer,
    seed: b.seed,
  };
}

async function runRecord(
  options: RunTrainingOptions,
  data: PreparedData,
  table: { sha256: string; bytes: number },
  backend: BackendInfo,
  startedAt: Date,
): Promise<RunFile> {
  const finishedAt = new Date();
  const builtin = options.spec.trainer.builtin;
  return {
    formatVersion: 1,
    ...(options.name !== undefined && { name: options.name }),
    specHash: hashSpec(options.spec),
    spec: options.spec,
    data: {
      uri: builtin?.data.uri ?? '',
      sha256: table.sha256,
      bytes: table.bytes,
      rows: data.rows,
      columnTypes: data.columnTypes,
    },
    ...(await gitCommitOf(options.manifestFile)),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    seconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    backend: backend.backend,
    mlformVersion: options.mlformVersion ?? '0.0.0',
  };
}

/**
 * The commit of the manifest's repository, with `-dirty` when the manifest differs from it. The
 * repository is the one holding the manifest's tree root, read with an explicit git directory and
 * every configured program off (git-commit.ts): never one git discovers inside the tree.
 */
async function gitCommitOf(file: string | undefined): Promise<{ gitCommit?: string }> {
  if (!file) return {};
  const gitCommit = await gitCommitAt(await findTreeRoot(dirname(file)), file);
  return gitCommit === undefined ? {} : { gitCommit };
}

/**
 * On Vertex AI with `gcp.tensorboard` (the job carries MLFORM_TENSORBOARD), Vertex uploads what
 * lands in AIP_TENSORBOARD_LOG_DIR into the managed TensorBoard: the event files go there too.
 */
function streamedLogDir(env: Record<string, string | undefined> | undefined): string[] {
  const logDir = env?.AIP_TENSORBOARD_LOG_DIR;
  return env?.MLFORM_TENSORBOARD && logDir && isGcsUri(logDir) ? [logDir] : [];
}

async function uploadDirectory(localDir: string, targets: readonly string[]): Promise<void> {
  const walk = async (dir: string): Promise<string[]> => {
    const entries = await readdir(dir, { withFileTypes: true });
    const nested = await Promise.all(
      entries.map((e) => (e.isDirectory() ? walk(join(dir, e.name)) : Promise.resolve([join(dir, e.name)]))),
    );
    return nested.flat();
  };
  for (const file of await walk(localDir)) {
    const data = await readFile(file);
    for (const target of targets) {
      const uri = joinUri(target, ...relative(localDir, file).split('/'));
      await storeFor(uri).write(uri, data);
    }
  }
  await rm(localDir, { recursive: true, force: true });
}
