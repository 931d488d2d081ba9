/**
 * The trainer's own seeded random stream. tfjs seeds are per call (every `tf.randomUniform(...,
 * seed)` restarts from the seed), and `model.fit` shuffles with Math.random, so reproducible
 * shuffling and resumable training need a generator whose whole state fits in a checkpoint.
 *
 * xoshiro128** (Blackman & Vigna): 128 bits of state, fast with 32-bit integer math, good enough
 * statistically for shuffles and dropout seeds. Seeded through splitmix32 so nearby seeds diverge.
 */

/** A 32-bit avalanche mix (the murmur3 finaliser). */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A well-mixed 32-bit seed from several integers: per-layer initialiser seeds, per-step dropout
 * seeds. deriveSeed(s, 1) and deriveSeed(s, 2) are unrelated, unlike s + 1 and s + 2.
 */
export function deriveSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    // Fold both halves so seeds above 2^32 (and negative ones) still count.
    h = fmix32(h ^ (part >>> 0));
    h = fmix32(h ^ Math.floor(part / 0x100000000) ^ 0x632be5ab);
  }
  return h;
}

export type RngState = [number, number, number, number];

export class Rng {
  private readonly s = new Uint32Array(4);

  constructor(seed: number | RngState) {
    if (typeof seed === 'number') {
      let x = deriveSeed(seed);
      for (let i = 0; i < 4; i++) {
        // splitmix32
        x = (x + 0x9e3779b9) >>> 0;
        this.s[i] = fmix32(x);
      }
      if (this.s.every((v) => v === 0)) this.s[0] = 1; // the all-zero state is a fixed point
    } else {
      this.s.set(seed);
    }
  }

  state(): RngState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }

  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextU32() / 0x100000000;
  }

  /** Uniform integer in [0, n), n <= 2^32. Multiply-shift: the bias is below 2^-32 * n. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Fisher-Yates over the whole array, in place. */
  shuffle(values: Uint32Array): void {
    for (let i = values.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = values[i];
      values[i] = values[j];
      values[j] = tmp;
    }
  }
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;
