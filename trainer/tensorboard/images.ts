/**
 * Plots rendered to PNG for TensorBoard's IMAGES tab: predicted-vs-actual scatter for regression and
 * a confusion-matrix heat map for classification, drawn as Vega-Lite charts (chart-png.ts).
 */
import { mulberry32, permutation } from '../data/random.js';
import { chartPng } from './chart-png.js';
import type { ChartSpec, EncodedImage } from './chart-png.js';

export type { EncodedImage } from './chart-png.js';
export { niceTicks, tickLabels } from './ticks.js';

/** Below this the axes and their labels leave no room for the plot. */
const MIN_SIDE = 80;

export const POINT_COLOR = '#1f77b4';
export const DIAGONAL_COLOR = '#d62728';

export interface ScatterOptions {
  /** Image size in pixels. Default 480 x 480. */
  width?: number;
  height?: number;
  /** Half-width of the square a point covers, in pixels. Default 1.5. */
  pointRadius?: number;
  /** Opacity of one point, so dense regions read darker. Default 0.5. */
  pointAlpha?: number;
}

/**
 * Predicted (y) against actual (x) on equal axes, with the y = x diagonal a perfect model would sit
 * on. Pairs where either value is not finite are skipped.
 */
export async function scatterPng(
  actual: readonly number[],
  predicted: readonly number[],
  options: ScatterOptions = {},
): Promise<EncodedImage> {
  return chartPng(scatterSpec(actual, predicted, options));
}

/**
 * A scatter draws at most this many points: every point is an SVG element for Vega and resvg, so
 * a seeded sample keeps a large validation set as cheap as a small one (the axes still span all).
 */
export const MAX_SCATTER_POINTS = 5000;

function samplePoints<T>(points: readonly T[]): readonly T[] {
  if (points.length <= MAX_SCATTER_POINTS) return points;
  const order = permutation(points.length, mulberry32(points.length));
  const picked = [...order.subarray(0, MAX_SCATTER_POINTS)].sort((a, b) => a - b);
  return picked.map((i) => points[i]);
}

/** One prediction per actual value. */
export function checkPairs(actual: readonly number[], predicted: readonly number[]): void {
  if (actual.length !== predicted.length) {
    throw new RangeError(`scatter: ${actual.length} actual values but ${predicted.length} predictions`);
  }
}

/** The Vega-Lite spec of `scatterPng`. */
export function scatterSpec(
  actual: readonly number[],
  predicted: readonly number[],
  options: ScatterOptions = {},
): ChartSpec {
  checkPairs(actual, predicted);
  const width = options.width ?? 480;
  const height = options.height ?? 480;
  if (width < MIN_SIDE || height < MIN_SIDE) {
    throw new RangeError(`scatter: ${width}x${height} is too small (at least ${MIN_SIDE}x${MIN_SIDE})`);
  }
  const radius = options.pointRadius ?? 1.5;
  const points: { actual: number; predicted: number }[] = [];
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < actual.length; i++) {
    if (!Number.isFinite(actual[i]) || !Number.isFinite(predicted[i])) continue;
    points.push({ actual: actual[i], predicted: predicted[i] });
    lo = Math.min(lo, actual[i], predicted[i]);
    hi = Math.max(hi, actual[i], predicted[i]);
  }
  if (lo > hi) [lo, hi] = [0, 1];
  if (lo === hi) [lo, hi] = [lo - Math.max(1, Math.abs(lo) * 0.1), hi + Math.max(1, Math.abs(hi) * 0.1)];
  const pad = (hi - lo) * 0.05;
  // One domain for both axes, so the diagonal is at 45 degrees and distances read the same.
  const scale = { domain: [lo - pad, hi + pad], nice: false, zero: false };
  const shown = samplePoints(points);
  const rowsLabel =
    shown.length < points.length
      ? `validation rows (${shown.length.toLocaleString('en')} of ${points.length.toLocaleString('en')})`
      : 'validation rows';
  const legend = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain: [rowsLabel, 'perfect (y = x)'], range: [POINT_COLOR, DIAGONAL_COLOR] },
    legend: { orient: 'top-left', fillColor: 'white' },
  } as const;
  const spec = {
    width,
    height,
    layer: [
      {
        data: {
          values: [{ v: lo - pad }, { v: hi + pad }].map(({ v }) => ({ x: v, series: 'perfect (y = x)' })),
        },
        mark: { type: 'line', strokeWidth: 2, clip: true },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale, title: 'actual' },
          y: { field: 'x', type: 'quantitative', scale, title: 'predicted' },
          color: legend,
        },
      },
      {
        data: { values: shown.map((p) => ({ ...p, series: rowsLabel })) },
        mark: {
          type: 'square',
          filled: true,
          opacity: options.pointAlpha ?? 0.5,
          size: (2 * radius + 1) ** 2,
          clip: true,
        },
        encoding: {
          x: { field: 'actual', type: 'quantitative', scale, title: 'actual' },
          y: { field: 'predicted', type: 'quantitative', scale, title: 'predicted' },
          color: legend,
        },
      },
    ],
  } satisfies ChartSpec;
  return spec;
}

export interface ConfusionMatrixOptions {
  /** Side of one cell in pixels. Default: fits the matrix into about 480 pixels, 16 to 64 per cell. */
  cellSize?: number;
}

/** Checks the counts against the labels; returns the number of classes. */
export function checkConfusionMatrix(
  matrix: readonly (readonly number[])[],
  labels: readonly string[],
): number {
  const n = labels.length;
  if (n === 0) throw new RangeError('confusion matrix: no classes');
  if (matrix.length !== n || matrix.some((row) => row.length !== n)) {
    throw new RangeError(`confusion matrix: expected ${n}x${n} counts for ${n} labels`);
  }
  if (matrix.some((row) => row.some((count) => !Number.isFinite(count) || count < 0))) {
    throw new RangeError('confusion matrix: counts must be finite and non-negative');
  }
  return n;
}

/** Fits the matrix into about 480 pixels, 16 to 64 per cell, unless `cellSize` is given. */
export const defaultCellSize = (n: number, options: ConfusionMatrixOptions): number =>
  options.cellSize ?? Math.max(16, Math.min(64, Math.floor(480 / n)));

/** The cells' colour ramp: white for a share of 0 of the row, this blue for all of it. */
export const HEAT_LOW = '#ffffff';
export const HEAT_HIGH = '#08306b';

/**
 * Rows are actual classes and columns predicted classes, in `labels` order. Cells are shaded by
 * their share of the row (per-class recall, readable when classes are imbalanced) and show the count.
 */
export async function confusionMatrixPng(
  matrix: readonly (readonly number[])[],
  labels: readonly string[],
  options: ConfusionMatrixOptions = {},
): Promise<EncodedImage> {
  return chartPng(confusionMatrixSpec(matrix, labels, options));
}

/** The Vega-Lite spec of `confusionMatrixPng`. */
export function confusionMatrixSpec(
  matrix: readonly (readonly number[])[],
  labels: readonly string[],
  options: ConfusionMatrixOptions = {},
): ChartSpec {
  const n = checkConfusionMatrix(matrix, labels);
  const cell = defaultCellSize(n, options);
  const names = distinctNames(labels);
  const cells = matrix.flatMap((row, r) => {
    const total = row.reduce((sum, count) => sum + count, 0);
    return row.map((count, c) => ({
      actual: names[r],
      predicted: names[c],
      count: Math.round(count),
      share: total > 0 ? count / total : 0,
    }));
  });
  const axis = (title: string, orient: 'top' | 'left') => ({
    title,
    orient,
    labelLimit: 120,
    labelAngle: orient === 'top' && n > 4 ? -45 : 0,
    ticks: false,
    domain: false,
  });
  const position = (field: 'actual' | 'predicted', title: string, orient: 'top' | 'left') => ({
    field,
    type: 'ordinal' as const,
    scale: { domain: names },
    axis: axis(title, orient),
  });
  const spec = {
    width: { step: cell },
    height: { step: cell },
    autosize: { type: 'pad' },
    data: { values: cells },
    encoding: {
      x: position('predicted', 'predicted', 'top'),
      y: position('actual', 'actual', 'left'),
    },
    layer: [
      {
        mark: { type: 'rect', stroke: '#e6e6e6', strokeWidth: 1 },
        encoding: {
          color: {
            field: 'share',
            type: 'quantitative',
            title: 'share of row',
            scale: { domain: [0, 1], range: [HEAT_LOW, HEAT_HIGH], interpolate: 'rgb' },
            legend: { gradientLength: Math.max(60, Math.min(200, n * cell)) },
          },
        },
      },
      {
        mark: { type: 'text', fontSize: Math.max(8, Math.min(14, Math.floor(cell / 3))) },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: 'datum.share > 0.5', value: 'white' }, value: '#212121' },
        },
      },
    ],
  } satisfies ChartSpec;
  return spec;
}

/**
 * Class names are data, and the ordinal axes key cells by name: a repeated name gets a suffix so
 * two classes never share a row. Long names are cut (the axis would take the whole image).
 */
function distinctNames(labels: readonly string[]): string[] {
  const seen = new Set<string>();
  return labels.map((label) => {
    const base = label.length > 40 ? `${label.slice(0, 39)}…` : label;
    let name = base;
    for (let k = 2; seen.has(name); k++) name = `${base} (${k})`;
    seen.add(name);
    return name;
  });
}
