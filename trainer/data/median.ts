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
  return sampledMedian(values, upperRank, even) ?? histogramMedian(values, upperRank, even);
}

/** One value in SAMPLE_STEP is read to guess which buckets hold the middle. */
const SAMPLE_STEP = 16;
let gathered: Float64Array | undefined;

/**
 * The median from one pass over the values, when a sample's histogram brackets it: the buckets
 * between the sample's ranks a few standard deviations either side of the middle are gathered (a
 * few percent of the values), the values below them counted, and the middle selected among the
 * gathered. Undefined when the bracket missed (then histogramMedian reads them all); the values
 * are left as they were.
 */
function sampledMedian(values: Float64Array, upperRank: number, even: boolean): number | undefined {
  const n = values.length;
  const words = new Int32Array(values.buffer, values.byteOffset, n * 2);
  const counts = (histogram ??= new Uint32Array(BUCKETS));
  const coarse = (coarseHistogram ??= new Uint32Array(COARSE));
  const sampled = countBuckets(words, n, SAMPLE_STEP, counts, coarse);
  // A sample rank's standard deviation is at most sqrt(sampled) / 2: four of them either side.
  const margin = 2 * Math.ceil(Math.sqrt(sampled)) + 1;
  const middle = (upperRank * sampled) / n;
  const from = bucketAtRank(counts, coarse, Math.max(0, Math.floor(middle) - margin));
  const to = bucketAtRank(counts, coarse, Math.min(sampled - 1, Math.ceil(middle) + margin));
  if (gathered === undefined || gathered.length < n) gathered = new Float64Array(n);
  const size = gatherRange(values, words, from, to, gathered);
  const rank = upperRank - belowRange;
  // The middle (and, n even, the value just below it) must be among the gathered.
  if (rank < (even ? 1 : 0) || rank >= size) return undefined;
  const upper = select(gathered, 0, size - 1, rank);
  if (!even) return upper;
  return (maxOf(gathered, 0, rank) + upper) / 2;
}

/** The bucket holding the value of rank `rank` in the counted values. */
function bucketAtRank(counts: Uint32Array, coarse: Uint32Array, rank: number): number {
  let below = 0;
  let top = 0;
  while (below + coarse[top] <= rank) below += coarse[top++];
  let bucket = top << 8;
  while (below + counts[bucket] <= rank) below += counts[bucket++];
  return bucket;
}

// gatherRange's count of the values in buckets below the range.
let belowRange = 0;

/** Copies the values of buckets `from` to `to` (inclusive) to `out`, in order; counts those below. */
function gatherRange(
  values: Float64Array,
  words: Int32Array,
  from: number,
  to: number,
  out: Float64Array,
): number {
  // One unsigned comparison for the range: a value is rarely in it, so the branch predicts well;
  // the count below is the sign bit of a difference, no branch at all.
  const span = to - from;
  let size = 0;
  let below = 0;
  for (let i = 0; i < values.length; i++) {
    const offset = bucketOf(words[2 * i + 1]) - from;
    below += offset >>> 31;
    if (offset >>> 0 <= span) out[size++] = values[i];
  }
  belowRange = below;
  return size;
}

/** The median from a histogram of every value: exact whatever the distribution. */
function histogramMedian(values: Float64Array, upperRank: number, even: boolean): number {
  const n = values.length;
  const words = new Int32Array(values.buffer, values.byteOffset, n * 2);
  const counts = (histogram ??= new Uint32Array(BUCKETS));
  const coarse = (coarseHistogram ??= new Uint32Array(COARSE));
  countBuckets(words, n, 1, counts, coarse);
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

/** Histograms of every `step`-th value's bucket, fine and coarse; returns how many were counted. */
function countBuckets(
  words: Int32Array,
  n: number,
  step: number,
  counts: Uint32Array,
  coarse: Uint32Array,
): number {
  counts.fill(0);
  coarse.fill(0);
  let counted = 0;
  for (let i = 0; i < n; i += step) {
    const bucket = bucketOf(words[2 * i + 1]);
    counts[bucket]++;
    coarse[bucket >>> 8]++;
    counted++;
  }
  return counted;
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
