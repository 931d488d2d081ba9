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
  if (!ascending(items)) {
    const shuffled = new Int32Array(order.length);
    for (let k = 0; k < order.length; k++) shuffled[k] = items[order[k]];
    return { train: shuffled.slice(nValidation).sort(), validation: shuffled.slice(0, nValidation).sort() };
  }
  // Ascending items (row indices, as prepareData passes them): sorting a side is keeping its
  // items in the order they come, so mark the validation positions and walk once, no sorts.
  const isValidation = new Uint8Array(items.length);
  for (let k = 0; k < nValidation; k++) isValidation[order[k]] = 1;
  const train = new Int32Array(items.length - nValidation);
  const validation = new Int32Array(nValidation);
  let t = 0;
  let v = 0;
  for (let j = 0; j < items.length; j++) {
    if (isValidation[j] === 1) validation[v++] = items[j];
    else train[t++] = items[j];
  }
  return { train, validation };
}

function ascending(items: Int32Array): boolean {
  for (let i = 1; i < items.length; i++) if (items[i - 1] >= items[i]) return false;
  return true;
}
