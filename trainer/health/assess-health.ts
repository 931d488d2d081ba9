/**
 * Model health after training: is the network using its capacity, did the gradients behave, did
 * the validation loss settle, does it generalise. One object for metrics.json and TensorBoard.
 *
 * healthScore (0..1, higher is healthier):
 *
 *   score = g * (0.35 * d + 0.35 * v + 0.30 * s)
 *
 *   g  gradients:      0 when exploding (a norm > 1e3 or non-finite in the last 5 probed epochs, or
 *                      the loss diverged), 0.25 when vanishing (a layer's last norm < 1e-7), else 1.
 *                      A multiplier: a run whose gradients blew up is unhealthy whatever else holds.
 *   d  dead neurons:   1 - the largest dead-ReLU fraction of any layer (1 without ReLU layers).
 *   v  generalisation: 1 / (1 + 2 * max(0, gap - 0.1)), halved when overfitting; gap = val_loss /
 *                      loss - 1 at the last epoch (1 without validation data).
 *   s  stability:      1 / (1 + 10 * cv), cv = coefficient of variation of the last 5 val losses
 *                      (cv 0.01 -> 0.91, 0.1 -> 0.5; 1 with fewer than 2 epochs).
 */
import * as tf from '@tensorflow/tfjs';
import type { HistoryEntry } from '../training/checkpoint.js';
import type { PreparedData } from '../types.js';
import { generalizationGap, lossStability } from './curves.js';
import { deadNeuronFractions } from './dead-neurons.js';
import { globalNorm } from './gradient-norms.js';

export const VANISHING_NORM = 1e-7;
export const EXPLODING_NORM = 1e3;
const WINDOW = 5;

export interface NormStats {
  mean: number;
  max: number;
  last: number;
}

export interface Health {
  healthScore: number;
  components: { gradients: number; deadNeurons: number; generalization: number; stability: number };
  /** Short names of what is wrong: exploding-gradients, vanishing-gradients, dead-neurons, overfitting, unstable-loss. */
  flags: string[];
  deadNeurons: { layers: Record<string, number>; max: number; probeSamples: number };
  gradients: {
    /** Per layer, over the last probed epochs (at most 5). */
    layers: Record<string, NormStats>;
    global: NormStats;
    vanishing: boolean;
    exploding: boolean;
    epochs: number;
  };
  lossStability: { cv: number | null; window: number };
  generalization: { gap: number | null; increasing: boolean; overfitting: boolean; threshold: number };
}

export interface AssessHealthInput {
  model: tf.LayersModel;
  history: HistoryEntry[];
  /** The probe batch for dead neurons is the head of the validation split (train when empty). */
  data: PreparedData;
  /** The loss became non-finite during training (TrainResult.diverged). */
  diverged?: boolean;
  probeSize?: number;
}

function stats(values: number[]): NormStats {
  // NaN and Infinity must survive into max: they are what "exploding" means.
  const max = values.reduce(
    (m, v) => (Number.isNaN(m) || Number.isNaN(v) ? Number.NaN : Math.max(m, v)),
    -Infinity,
  );
  return {
    mean: values.reduce((a, b) => a + b, 0) / values.length,
    max,
    last: values[values.length - 1],
  };
}

export function assessHealth(input: AssessHealthInput): Health {
  const { model, history, data } = input;

  const source = data.validation.count > 0 ? data.validation : data.train;
  const probeSamples = Math.min(input.probeSize ?? 256, source.count);
  const featureSize = data.preprocess.inputShape.reduce((a, b) => a * b, 1);
  const deadLayers = tf.tidy(() => {
    const x = tf.tensor(source.x.subarray(0, probeSamples * featureSize), [
      probeSamples,
      ...data.preprocess.inputShape,
    ]);
    return deadNeuronFractions(model, x);
  });
  const deadMax = Math.max(0, ...Object.values(deadLayers));

  const probed = history.slice(-WINDOW).filter((h) => Object.keys(h.gradientNorms).length > 0);
  const layerNames = [...new Set(probed.flatMap((h) => Object.keys(h.gradientNorms)))];
  const layers = Object.fromEntries(
    layerNames.map((name) => [name, stats(probed.map((h) => h.gradientNorms[name] ?? Number.NaN))]),
  );
  const global =
    probed.length > 0 ? stats(probed.map((h) => globalNorm(h.gradientNorms))) : { mean: 0, max: 0, last: 0 };
  const lastNorms = probed.at(-1)?.gradientNorms ?? {};
  const exploding =
    input.diverged === true ||
    probed.some((h) => Object.values(h.gradientNorms).some((n) => !Number.isFinite(n) || n > EXPLODING_NORM));
  const vanishing = !exploding && Object.values(lastNorms).some((n) => n < VANISHING_NORM);

  const losses = history.map((h) => h.metrics.loss ?? Number.NaN);
  const valLosses = history.map((h) => h.metrics.val_loss ?? Number.NaN);
  const stability = lossStability(valLosses, WINDOW);
  const generalization = generalizationGap(losses, valLosses, WINDOW);

  const components = {
    gradients: exploding ? 0 : vanishing ? 0.25 : 1,
    deadNeurons: 1 - deadMax,
    generalization:
      generalization.gap === null
        ? 1
        : (1 / (1 + 2 * Math.max(0, generalization.gap - 0.1))) * (generalization.overfitting ? 0.5 : 1),
    stability: stability.cv === null ? 1 : 1 / (1 + 10 * stability.cv),
  };
  const score =
    components.gradients *
    (0.35 * components.deadNeurons + 0.35 * components.generalization + 0.3 * components.stability);

  const flags: string[] = [];
  if (exploding) flags.push('exploding-gradients');
  if (vanishing) flags.push('vanishing-gradients');
  if (deadMax > 0.5) flags.push('dead-neurons');
  if (generalization.overfitting) flags.push('overfitting');
  if (stability.cv !== null && stability.cv > 0.1) flags.push('unstable-loss');

  return {
    healthScore: Math.round(Math.min(1, Math.max(0, score)) * 1e4) / 1e4,
    components,
    flags,
    deadNeurons: { layers: deadLayers, max: deadMax, probeSamples },
    gradients: { layers, global, vanishing, exploding, epochs: probed.length },
    lossStability: stability,
    generalization,
  };
}

/** Flat `health/...` scalars for TensorBoard and metrics.json (booleans as 0/1, nulls left out). */
export function healthScalars(health: Health): Record<string, number> {
  const out: Record<string, number> = {
    'health/score': health.healthScore,
    'health/dead_fraction_max': health.deadNeurons.max,
    'health/grad_norm_last': health.gradients.global.last,
    'health/grad_norm_max': health.gradients.global.max,
    'health/exploding': health.gradients.exploding ? 1 : 0,
    'health/vanishing': health.gradients.vanishing ? 1 : 0,
    'health/overfitting': health.generalization.overfitting ? 1 : 0,
  };
  if (health.lossStability.cv !== null) out['health/loss_cv'] = health.lossStability.cv;
  if (health.generalization.gap !== null) out['health/gap'] = health.generalization.gap;
  for (const [layer, fraction] of Object.entries(health.deadNeurons.layers))
    out[`health/dead_fraction/${layer}`] = fraction;
  for (const [layer, norm] of Object.entries(health.gradients.layers))
    out[`health/grad_norm/${layer}`] = norm.last;
  return out;
}
