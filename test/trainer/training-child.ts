/**
 * A training in its own process, for test/trainer/training-resume.test.ts: JSON lines of progress
 * events on stdout, then one `result` line with the history and a hash of the final weights.
 *
 *   node --import tsx test/trainer/training-child.ts <outDir>
 */
import { createHash } from 'node:crypto';
import { selectBackend } from '../../artifact/tfjs-backend.js';
import { train } from '../../trainer/training/train.js';
import { builtinFor, syntheticRegression } from './training-data.js';

export const CHILD_EPOCHS = 6;

const outDir = process.argv[2];
if (!outDir) throw new Error('usage: training-child.ts <outDir>');

await selectBackend({ acceleratorRequested: false });
const data = syntheticRegression({ count: 1000, features: 8, seed: 5 });
const builtin = builtinFor('regression', {
  network: { layers: [16, 8], dropout: 0.1 },
  hyperparameters: { epochs: CHILD_EPOCHS, batchSize: 16 },
});
const result = await train({
  data,
  builtin,
  outDir,
  stepInterval: 1000,
  onEvent: (event) => process.stdout.write(`${JSON.stringify(event)}\n`),
});
const weights = createHash('sha256');
for (const w of result.model.getWeights()) weights.update(new Uint8Array(w.dataSync().buffer));
process.stdout.write(
  `${JSON.stringify({
    type: 'result',
    history: result.history.map(({ epoch, metrics, gradientNorms }) => ({ epoch, metrics, gradientNorms })),
    steps: result.steps,
    weights: weights.digest('hex'),
  })}\n`,
);
