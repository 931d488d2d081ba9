/**
 * The one function that turns a raw row into model inputs, used by training (`table` mode, over
 * the data file) and by serving (`request` mode, over API instances). Sharing it is what makes a
 * served prediction equal the in-process one for the same raw row.
 */
import type { FeatureEncoding } from './types.js';
import { fnv1a } from './hash.js';
import {
  MISSING_CATEGORY,
  ValueError,
  parseBoolean,
  parseCategory,
  parseDate,
  parseNumeric,
  type ParseMode,
} from './values.js';

export interface FieldProblem {
  field: string;
  message: string;
}

/** Encoded width of one feature: 1, or the one-hot size of a categorical. */
export function featureWidth(feature: FeatureEncoding): number {
  if (feature.type !== 'categorical') return 1;
  return feature.hashBuckets ?? feature.vocabulary.length;
}

const NUMERIC = 0;
const DATE = 1;
const BOOLEAN = 2;
const CATEGORICAL = 3;

/**
 * A feature list compiled for fast encoding. The per-feature settings are copied into flat typed
 * arrays so the per-cell loop reads monomorphic data (the FeatureEncoding objects have four shapes,
 * which would make every property read in the hot loop megamorphic).
 */
export class RowEncoder {
  readonly width: number;
  readonly offsets: Int32Array;
  /** Slots of window-relative features (forecasting), and the scale each is divided by. */
  readonly relativeSlots: Int32Array;
  readonly relativeScales: Float64Array;
  private readonly names: string[];
  private readonly kinds: Uint8Array;
  private readonly relative: Uint8Array;
  private readonly means: Float64Array;
  private readonly stds: Float64Array;
  private readonly fills: Float64Array;
  private readonly widths: Int32Array;
  private readonly buckets: Int32Array;
  private readonly lookups: (Map<string, number> | undefined)[];

  constructor(readonly features: readonly FeatureEncoding[]) {
    const n = features.length;
    this.names = features.map((f) => f.name);
    this.kinds = new Uint8Array(n);
    this.relative = new Uint8Array(n);
    this.means = new Float64Array(n);
    this.stds = new Float64Array(n).fill(1);
    this.fills = new Float64Array(n);
    this.widths = new Int32Array(n);
    this.buckets = new Int32Array(n);
    this.offsets = new Int32Array(n);
    this.lookups = [];
    const relativeSlots: number[] = [];
    const relativeScales: number[] = [];
    let width = 0;
    features.forEach((feature, i) => {
      this.offsets[i] = width;
      this.widths[i] = featureWidth(feature);
      this.lookups.push(undefined);
      switch (feature.type) {
        case 'numeric':
        case 'date':
          this.kinds[i] = feature.type === 'numeric' ? NUMERIC : DATE;
          this.means[i] = feature.mean;
          this.stds[i] = feature.std;
          this.fills[i] = feature.fill;
          if (feature.relative) {
            this.relative[i] = 1;
            relativeSlots.push(width);
            relativeScales.push(feature.std);
          }
          break;
        case 'boolean':
          this.kinds[i] = BOOLEAN;
          this.fills[i] = feature.fill;
          break;
        case 'categorical':
          this.kinds[i] = CATEGORICAL;
          this.buckets[i] = feature.hashBuckets ?? 0;
          if (feature.hashBuckets === undefined) {
            this.lookups[i] = new Map(feature.vocabulary.map((value, index) => [value, index]));
          }
          break;
      }
      width += this.widths[i];
    });
    this.width = width;
    this.relativeSlots = Int32Array.from(relativeSlots);
    this.relativeScales = Float64Array.from(relativeScales);
  }

  /**
   * Writes one encoded row at `out[offset .. offset + width)`. Missing values take the fitted fill;
   * a bad value is reported and also takes the fill, so `out` is always fully written. Window-
   * relative features are written in raw units here; `writeWindow` makes them relative.
   * Returns the problems, or undefined (the common case allocates nothing).
   */
  encode(
    row: Readonly<Record<string, unknown>>,
    out: Float32Array | Float64Array,
    offset: number,
    mode: ParseMode,
  ): FieldProblem[] | undefined {
    let problems: FieldProblem[] | undefined;
    for (let i = 0; i < this.kinds.length; i++) {
      const at = offset + this.offsets[i];
      const raw = row[this.names[i]];
      const kind = this.kinds[i];
      if (kind === CATEGORICAL) {
        out.fill(0, at, at + this.widths[i]);
        const category = parseCategory(raw, mode);
        if (category instanceof ValueError) {
          (problems ??= []).push({ field: this.names[i], message: category.message });
          continue;
        }
        const key = category ?? MISSING_CATEGORY;
        const buckets = this.buckets[i];
        // Unknown categories (not in the train vocabulary) stay all zeros; see types.ts.
        const slot = buckets > 0 ? fnv1a(key) % buckets : (this.lookups[i]!.get(key) ?? -1);
        if (slot >= 0) out[at + slot] = 1;
        continue;
      }
      const value =
        kind === NUMERIC
          ? parseNumeric(raw, mode)
          : kind === DATE
            ? parseDate(raw, mode)
            : parseBoolean(raw, mode);
      let number: number;
      if (typeof value === 'number') {
        number = value === value ? value : this.fills[i]; // NaN = missing
      } else {
        (problems ??= []).push({ field: this.names[i], message: value.message });
        number = this.fills[i];
      }
      out[at] = kind === BOOLEAN || this.relative[i] === 1 ? number : (number - this.means[i]) / this.stds[i];
    }
    return problems;
  }

  /**
   * Copies `size` consecutive encoded rows (row-major, `width` each, starting at row `first` of
   * `rows`) into `out` at `outOffset`, expressing every window-relative feature as its change from
   * the window's last row divided by its scale. The last row's relative values are therefore 0:
   * the network sees the shape of the recent past, not its level (see windows.ts for why).
   */
  writeWindow(rows: Float64Array, first: number, size: number, out: Float32Array, outOffset: number): void {
    const width = this.width;
    const start = first * width;
    const last = start + (size - 1) * width;
    for (let k = 0; k < size * width; k++) out[outOffset + k] = rows[start + k];
    const slots = this.relativeSlots;
    for (let r = 0; r < slots.length; r++) {
      const slot = slots[r];
      const level = rows[last + slot];
      const scale = this.relativeScales[r];
      for (let step = 0; step < size; step++) {
        out[outOffset + step * width + slot] = (rows[start + step * width + slot] - level) / scale;
      }
    }
  }
}
