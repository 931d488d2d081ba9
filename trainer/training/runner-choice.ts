/**
 * Choosing how this training steps: on which tfjs backend (refused when the network cannot train
 * there), and which step implementation fits the model family. MLPs take the flat step (mlp-step.ts,
 * hand-written backward pass); LSTMs on wasm/cpu the fused step (recurrent-step.ts, ~6x LayersStep
 * on wasm); GRUs and the tensorflow backend keep autodiff (step.ts). Tuning or not is decided one
 * level up (trainer/run-training.ts); every trial comes through here.
 */
import * as tf from '@tensorflow/tfjs';
import type { BuiltinTrainer } from '../../resources/training-run.js';
import { checkTrainable } from '../../artifact/tfjs-backend.js';
import { buildNetwork } from '../network/build-network.js';
import type { PreparedData } from '../types.js';
import { FlatMlpStep, planFlatMlp } from './mlp-step.js';
import type { Objective } from './objective.js';
import { makeOptimizer } from './optimizer.js';
import { FusedLstmStep, planFusedLstm, type FusedLstmRunner } from './recurrent-step.js';
import { LayersStep, type StepRunner } from './step.js';

export interface ChosenRunner {
  /** The tfjs backend it trains on. */
  backend: string;
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  runner: StepRunner | FusedLstmRunner;
  /** The shape one sample takes in a batch tensor (the flat step takes flat rows). */
  batchShape: number[];
}

export const product = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Throws when the network cannot train on the current backend, or when `signal` is aborted. */
export function chooseRunner(
  data: PreparedData,
  builtin: BuiltinTrainer,
  objective: Objective,
  signal?: AbortSignal,
): ChosenRunner {
  const backend = tf.getBackend();
  const refusals = checkTrainable(builtin.network, backend);
  if (refusals.length > 0) {
    throw new Error(refusals.map((d) => (d.hint ? `${d.message}: ${d.hint}` : d.message)).join('; '));
  }
  signal?.throwIfAborted();

  const inputShape = data.preprocess.inputShape;
  const model = buildNetwork({
    network: builtin.network,
    inputShape,
    targetSize: data.targetSize,
    task: data.task,
    seed: builtin.seed,
  });
  const hp = builtin.hyperparameters;
  const optimizer = makeOptimizer(hp.optimizer, hp.learningRate);
  const plan = planFlatMlp(model);
  const lstmPlan = plan ? undefined : planFusedLstm(model, backend);
  const runner: StepRunner | FusedLstmRunner = plan
    ? new FlatMlpStep(plan, optimizer, objective)
    : lstmPlan
      ? new FusedLstmStep(lstmPlan, optimizer, objective)
      : new LayersStep(model, optimizer, objective);
  const batchShape = runner.kind === 'flat-mlp' ? [product(inputShape)] : inputShape;
  return { backend, model, optimizer, runner, batchShape };
}
