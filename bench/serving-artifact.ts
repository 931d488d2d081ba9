/**
 * A small real trainer artifact for the serving benchmark and tests: the quickstart's data
 * (cars, regression) or iris (classification) prepared by trainer/data, the network built by
 * trainer/network, a few epochs of `model.fit`, and the files the server reads (model.json,
 * weights.bin, preprocess.json, run.json). Quality is irrelevant here; shape and encoding are real.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BuiltinTrainer } from '../resources/training-run.js';
import { loadTable, prepareData } from '../trainer/data/index.js';
import { saveModel } from '../artifact/model-io.js';
import { buildNetwork } from '../trainer/network/build-network.js';
import type { Preprocess } from '../trainer/types.js';

const DATA = join(import.meta.dirname, '..', 'examples', 'data');

export type ArtifactKind = 'cars' | 'iris';

export interface TinyArtifact {
  dir: string;
  /** The trained model, still in memory: the in-process reference for served predictions. */
  model: tf.LayersModel;
  preprocess: Preprocess;
  /** Raw rows of the data set (features and target), for building requests. */
  rows: Record<string, unknown>[];
  /** The rows of the validation split. */
  validationRows: Record<string, unknown>[];
  features: string[];
  target: string;
}

const SPECS: Record<ArtifactKind, { builtin: BuiltinTrainer }> = {
  cars: {
    builtin: {
      task: 'regression',
      data: {
        uri: 'file://cars.json',
        target: 'Miles_per_Gallon',
        // The quickstart's features (examples/quickstart/training.yaml).
        features: [
          'Cylinders',
          'Displacement',
          'Horsepower',
          'Weight_in_lbs',
          'Acceleration',
          'Year',
          'Origin',
        ],
        validationSplit: 0.2,
        maxCategories: 64,
      },
      network: { type: 'mlp', layers: [64, 32], activation: 'relu', dropout: 0.05 },
      hyperparameters: { epochs: 3, batchSize: 32, learningRate: 0.003, optimizer: 'adam' },
      seed: 42,
    },
  },
  iris: {
    builtin: {
      task: 'classification',
      data: { uri: 'file://iris.csv', target: 'species', validationSplit: 0.2, maxCategories: 64 },
      network: { type: 'mlp', layers: [16], activation: 'relu', dropout: 0 },
      hyperparameters: { epochs: 3, batchSize: 16, learningRate: 0.01, optimizer: 'adam' },
      seed: 7,
    },
  },
};

export async function trainTinyArtifact(
  kind: ArtifactKind,
  dir: string,
  options: { epochs?: number; seed?: number; model?: string } = {},
): Promise<TinyArtifact> {
  const { builtin: base } = SPECS[kind];
  const builtin: BuiltinTrainer = {
    ...base,
    seed: options.seed ?? base.seed,
    hyperparameters: { ...base.hyperparameters, epochs: options.epochs ?? base.hyperparameters.epochs },
  };
  const table = await loadTable(builtin.data.uri, { baseDir: DATA });
  const data = prepareData(builtin, table);
  const { preprocess } = data;
  const model = buildNetwork({
    network: builtin.network,
    inputShape: preprocess.inputShape,
    targetSize: data.targetSize,
    task: builtin.task,
    seed: builtin.seed,
  });
  model.compile({
    optimizer: tf.train.adam(builtin.hyperparameters.learningRate),
    loss: builtin.task === 'classification' ? 'categoricalCrossentropy' : 'meanSquaredError',
  });
  const x = tf.tensor(data.train.x, [data.train.count, ...preprocess.inputShape]);
  const y = tf.tensor2d(data.train.y, [data.train.count, data.targetSize]);
  try {
    await model.fit(x, y, {
      epochs: builtin.hyperparameters.epochs,
      batchSize: builtin.hyperparameters.batchSize,
      verbose: 0,
    });
  } finally {
    tf.dispose([x, y]);
  }
  await saveModel(model, dir);
  await writeFile(join(dir, 'preprocess.json'), `${JSON.stringify(preprocess, null, 2)}\n`);
  await writeFile(
    join(dir, 'run.json'),
    `${JSON.stringify({ formatVersion: 1, name: `${kind}-tiny`, specHash: `tiny-${kind}-${builtin.seed}`, spec: { model: options.model ?? (kind === 'cars' ? 'mpg' : 'iris') } }, null, 2)}\n`,
  );
  return {
    dir,
    model,
    preprocess,
    rows: table.rows,
    validationRows: Array.from(data.validation.rowIndex ?? [], (i) => table.rows[i]),
    features: preprocess.features.map((f) => f.name),
    target: builtin.data.target,
  };
}

/** The features of a data row, as a client would send them (the target left out). */
export function instanceOf(artifact: TinyArtifact, row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const feature of artifact.preprocess.features) {
    if (!(feature.name in row)) continue;
    const value = row[feature.name];
    // CSV cells are text; an API client sends numbers as JSON numbers.
    out[feature.name] =
      feature.type === 'numeric' && typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  }
  return out;
}
