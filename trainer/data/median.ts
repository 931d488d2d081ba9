/**
 * The median of a column's present values, exactly, in linear time. Fitting takes one per numeric
 * feature over the training rows (32 x 80,000 on the benchmark's table), where quickselect alone
 * spent ~17 ns a value, most of it in mispredicted comparisons on unordered data.
 *
 * Large inputs are first narrowed by a radix pass: a histogram of the top 16 bits of each value's
 * order-preserving bit pattern finds the bucket holding the middle, and only that bucket (a few
 * percent of the values on real columns) is gathered and quickselected. Both passes are
 * branch-light. A column whose values share their top 16 bits (a narrow range) leaves one big
 * bucket: the quickselect then does what it did without the narrowing.
 *
 * The order statistic is a unique number except for the sign of zero (-0 and 0 compare equal, and
 * which one a selection lands on depends on its visiting order): a zero median is returned as +0,
 * so every selection order gives the same bits.
 */

/** Below this many values, the histogram's 65,536 buckets cost more than they narrow. */
const NARROW_FROM = 4096;
const BUCKETS = 1 << 16;
const COARSE = 1 << 8;

let histogram: Uint32Array | undefined;
let coarseHistogram: Uint32Array | undefined;

/** Median of `values` (NaN-free; reordered and overwritten: pass scratch space). */
export function medianOf(values: Float64Array): number {
  const n = values.length;
  if (n === 0) return NaN;
  const upperRank = n >> 1;
  let median: number;
  if (n < NARROW_FROM) {
    const upper = select(values, 0, n - 1, upperRank);
    median = n % 2 === 1 ? upper : (maxOf(values, 0, upperRank) + upper) / 2;
  } else {
    median = narrowedMedian(values, upperRank, n % 2 === 0);
  }
  return median === 0 ? 0 : median;
}

/**
 * The high word of a double's bits (read as a signed int), mapped so that unsigned order is numeric
 * order (negatives have all bits flipped, non-negatives the sign bit set), shifted to its top 16
 * bits: the bucket.
 */
const bucketOf = (high: number): number => (high ^ ((high >> 31) | -0x80000000)) >>> 16;

function narrowedMedian(values: Float64Array, upperRank: number, even: boolean): number {
  const n = values.length;
  const words = new Int32Array(values.buffer, values.byteOffset, n * 2);
  const counts = (histogram ??= new Uint32Array(BUCKETS));
  const coarse = (coarseHistogram ??= new Uint32Array(COARSE));
  countBuckets(words, n, counts, coarse);
  // The bucket holding the upper middle, and how many values lie in the buckets below it: found
  // among 256 coarse buckets, then among the 256 fine ones inside.
  let below = 0;
  let top = 0;
  while (below + coarse[top] <= upperRank) below += coarse[top++];
  let bucket = top << 8;
  while (below + counts[bucket] <= upperRank) below += counts[bucket++];
  // The lower middle (even n) is the largest value below the upper one: in the same bucket unless
  // the upper middle is that bucket's smallest, then in the nearest non-empty bucket below, which
  // is then gathered too.
  let from = bucket;
  if (even && below === upperRank) {
    do from--;
    while (counts[from] === 0);
    below -= counts[from];
  }
  const size = gatherBuckets(values, words, from, bucket);
  const rank = upperRank - below;
  const upper = select(values, 0, size - 1, rank);
  if (!even) return upper;
  return (maxOf(values, 0, rank) + upper) / 2;
}

// One loop per function, here and below: a fresh process runs each loop first in the interpreter,
// and a loop compiled on the stack (OSR) inside a longer function falls back to the interpreter at
// the next statement that has not run yet; a function of its own is compiled whole.

function countBuckets(words: Int32Array, n: number, counts: Uint32Array, coarse: Uint32Array): void {
  counts.fill(0);
  coarse.fill(0);
  for (let i = 0; i < n; i++) {
    const bucket = bucketOf(words[2 * i + 1]);
    counts[bucket]++;
    coarse[bucket >>> 8]++;
  }
}

/** Moves the values of buckets `from` to `to` (inclusive) to the front, in order; returns how many. */
function gatherBuckets(values: Float64Array, words: Int32Array, from: number, to: number): number {
  // Writes trail reads (gathered <= i): every value is read before its slot is reused.
  // One unsigned comparison for the range: a value is rarely in it, so the branch predicts well
  // (two comparisons would each be a coin toss).
  const span = to - from;
  let gathered = 0;
  for (let i = 0; i < values.length; i++) {
    if ((bucketOf(words[2 * i + 1]) - from) >>> 0 <= span) values[gathered++] = values[i];
  }
  return gathered;
}

/** The largest of values[from .. to). */
function maxOf(values: Float64Array, from: number, to: number): number {
  let max = -Infinity;
  for (let i = from; i < to; i++) if (values[i] > max) max = values[i];
  return max;
}

/**
 * Hoare's quickselect with a median-of-three pivot on values[left .. right]: puts the k-th smallest
 * at k, everything at or below it to its left, and returns it.
 */
function select(values: Float64Array, left: number, right: number, k: number): number {
  while (right > left) {
    const mid = (left + right) >> 1;
    const a = values[left];
    const b = values[mid];
    const c = values[right];
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = left;
    let j = right;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        const swap = values[i];
        values[i] = values[j];
        values[j] = swap;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else break;
  }
  return values[k];
}
