/** How rows are divided into training and validation. */
import { seedFor, mulberry32, permutation } from './random.js';

/** Number of validation items out of n: at least 1, and at least 1 left for training. */
export function validationCount(n: number, fraction: number): number {
  if (n < 2) return 0;
  return Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
}

/**
 * A seeded random split of `items` (row indices). Which rows go where is random; each side is then
 * put back in table order, so encoding walks memory forwards (visiting 100k row objects in random
 * order is several times slower), and the training loop shuffles batches itself.
 */
export function shuffleSplit(
  items: Int32Array,
  fraction: number,
  seed: number,
): { train: Int32Array; validation: Int32Array } {
  const order = permutation(items.length, mulberry32(seedFor(seed, 'split')));
  const nValidation = validationCount(items.length, fraction);
  const shuffled = new Int32Array(order.length);
  for (let k = 0; k < order.length; k++) shuffled[k] = items[order[k]];
  return { train: shuffled.slice(nValidation).sort(), validation: shuffled.slice(0, nValidation).sort() };
}
