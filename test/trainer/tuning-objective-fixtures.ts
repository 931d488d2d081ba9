/**
 * metrics.json `health` exactly as the builtin trainer wrote it for iris (examples/trainer/
 * iris-tuning.yaml, 20 epochs, seed 7): learning rate 0.01 (healthy) and 0.03 (overfits: its
 * val_loss 0.0862 is slightly better than 0.1089, its generalisation component is 0.218), and
 * 1e6 (vanishing gradients, a dead unit). Copied from real artifacts, not made up.
 */
export const HEALTHY = {
  healthScore: 0.8596,
  components: { gradients: 1, deadNeurons: 1, generalization: 1, stability: 0.5318385346151608 },
  flags: [],
  deadNeurons: { layers: { dense_1: 0 }, max: 0, probeSamples: 45 },
  gradients: {
    layers: {
      dense_1: { mean: 0.036313753202557565, max: 0.046190112829208374, last: 0.030073871836066246 },
      output: { mean: 0.06083696484565735, max: 0.06797124445438385, last: 0.04900500178337097 },
    },
    global: { mean: 0.07095314716910216, max: 0.08218039057982511, last: 0.05749719964485515 },
    vanishing: false,
    exploding: false,
    epochs: 5,
  },
  lossStability: { cv: 0.08802699220048084, window: 5 },
  generalization: { gap: 0.011900154193329682, increasing: true, overfitting: false, threshold: 0.5 },
};

export const OVERFITTING = {
  healthScore: 0.6877,
  components: {
    gradients: 1,
    deadNeurons: 1,
    generalization: 0.21837004968481333,
    stability: 0.8709453918870769,
  },
  flags: ['overfitting'],
  deadNeurons: { layers: { dense_1: 0 }, max: 0, probeSamples: 45 },
  gradients: {
    layers: {
      dense_1: { mean: 0.04185167122632265, max: 0.07431675493717194, last: 0.0454818531870842 },
      output: { mean: 0.05111703723669052, max: 0.09056249260902405, last: 0.05578160285949707 },
    },
    global: { mean: 0.06607709670108022, max: 0.11715180379298991, last: 0.07197351031390739 },
    vanishing: false,
    exploding: false,
    epochs: 5,
  },
  lossStability: { cv: 0.01481776117252318, window: 5 },
  generalization: { gap: 0.7448456432594124, increasing: true, overfitting: true, threshold: 0.5 },
};

export const VANISHING = {
  healthScore: 0.2391,
  components: { gradients: 0.25, deadNeurons: 0.875, generalization: 1, stability: 1 },
  flags: ['vanishing-gradients'],
  deadNeurons: { layers: { dense_1: 0.125 }, max: 0.125, probeSamples: 45 },
  gradients: {
    layers: { dense_1: { mean: 0, max: 0, last: 0 }, output: { mean: 0, max: 0, last: 0 } },
    global: { mean: 0, max: 0, last: 0 },
    vanishing: true,
    exploding: false,
    epochs: 5,
  },
  lossStability: { cv: 0, window: 5 },
  generalization: { gap: -0.19230767323785192, increasing: false, overfitting: false, threshold: 0.5 },
};

/** A diverged training: NaN is written as null (artifact/files.ts toJsonText). */
export const DIVERGED = {
  healthScore: null,
  components: { gradients: 0, deadNeurons: null, generalization: null, stability: null },
  flags: ['exploding-gradients'],
};
