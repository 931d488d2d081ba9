/**
 * Seeded randomness for everything that must replay exactly from `seed`: the data split here, and
 * weight initialisation and batch shuffling in the training loop. `Math.random` is never used.
 */
import { fnv1a } from '../../artifact/preprocess/hash.js';

export type Random = () => number;

/**
 * mulberry32: a 32-bit generator with a full 2^32 period, plenty for shuffles and initialisation,
 * and tiny enough to reimplement anywhere a run has to be reproduced. Returns floats in [0, 1).
 */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An independent seed per purpose (`seedFor(seed, 'split')`), so changing how many numbers one
 * consumer draws never shifts the stream another one sees. Seeds above 2^32 keep their high bits.
 */
export function seedFor(seed: number, purpose: string): number {
  const high = Math.floor(seed / 4294967296) >>> 0;
  return (fnv1a(purpose) ^ Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(high, 0x85ebca6b)) >>> 0;
}

/** Fisher-Yates shuffle in place. */
export function shuffleInPlace<T>(items: { length: number; [index: number]: T }, random: Random): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = items[i];
    items[i] = items[j];
    items[j] = swap;
  }
}

/** 0..n-1 in a seeded random order. */
export function permutation(n: number, random: Random): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  shuffleInPlace(out, random);
  return out;
}
