/**
 * The trainer's former hand-written images (a 3x5 pixel font on an RGBA raster, encoded with
 * pngjs), kept only as the floor of `npm run bench -- tensorboard-images`: the trainer now draws
 * with Vega-Lite and resvg (trainer/tensorboard/images.ts).
 */
import { checkConfusionMatrix, checkPairs, defaultCellSize } from '../../trainer/tensorboard/images.js';

import { niceTicks, tickLabels } from '../../trainer/tensorboard/ticks.js';
import { GLYPH_HEIGHT, textWidth } from './pixel-font.js';
import { Raster } from './raster.js';
import type { EncodedImage, Rgb } from './raster.js';

interface ScatterData {
  actual: readonly number[];
  predicted: readonly number[];
}

interface ConfusionData {
  matrix: readonly (readonly number[])[];
  labels: readonly string[];
}

const INK: Rgb = [33, 33, 33];
const GRID: Rgb = [230, 230, 230];
const POINT: Rgb = [31, 119, 180];
const DIAGONAL: Rgb = [214, 39, 40];

/**
 * Predicted (y) against actual (x) on equal axes, with the y = x diagonal a perfect model would sit
 * on. Pairs where either value is not finite are skipped.
 */
export function rasterScatterPng({ actual, predicted }: ScatterData): EncodedImage {
  checkPairs(actual, predicted);
  // The trainer's defaults, the only ones the bench draws.
  const [width, height, radius, alpha] = [480, 480, 1, 0.5];
  const scale = 2;

  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < actual.length; i++) {
    if (!Number.isFinite(actual[i]) || !Number.isFinite(predicted[i])) continue;
    lo = Math.min(lo, actual[i], predicted[i]);
    hi = Math.max(hi, actual[i], predicted[i]);
  }
  if (lo > hi) [lo, hi] = [0, 1];
  if (lo === hi) [lo, hi] = [lo - Math.max(1, Math.abs(lo) * 0.1), hi + Math.max(1, Math.abs(hi) * 0.1)];
  const pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  const ticks = niceTicks(lo, hi);
  const labels = tickLabels(ticks.values, ticks.step);

  const margin = {
    left: 14 + Math.max(...labels.map((label) => textWidth(label, scale))),
    right: 12,
    top: 12 + (GLYPH_HEIGHT + 2) * scale,
    bottom: 16 + 2 * GLYPH_HEIGHT * scale,
  };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  if (plotWidth < 16 || plotHeight < 16) throw new RangeError(`scatter: ${width}x${height} is too small`);

  const toX = (v: number): number => margin.left + ((v - lo) / (hi - lo)) * (plotWidth - 1);
  const toY = (v: number): number => margin.top + (1 - (v - lo) / (hi - lo)) * (plotHeight - 1);
  const right = margin.left + plotWidth - 1;
  const bottom = margin.top + plotHeight - 1;

  const raster = new Raster(width, height);
  ticks.values.forEach((tick, i) => {
    const x = toX(tick);
    const y = toY(tick);
    raster.line(x, margin.top, x, bottom, GRID);
    raster.line(margin.left, y, right, y, GRID);
    raster.line(x, bottom, x, bottom + 4, INK);
    raster.line(margin.left - 4, y, margin.left, y, INK);
    const label = labels[i];
    raster.text(x - textWidth(label, scale) / 2, bottom + 7, label, INK, scale);
    raster.text(margin.left - 7 - textWidth(label, scale), y - (GLYPH_HEIGHT * scale) / 2, label, INK, scale);
  });
  raster.line(toX(lo), toY(lo), toX(hi), toY(hi), DIAGONAL);
  for (let i = 0; i < actual.length; i++) {
    if (!Number.isFinite(actual[i]) || !Number.isFinite(predicted[i])) continue;
    const size = 2 * radius + 1;
    raster.fillRect(
      Math.round(toX(actual[i])) - radius,
      Math.round(toY(predicted[i])) - radius,
      size,
      size,
      POINT,
      alpha,
    );
  }
  raster.line(margin.left, margin.top, margin.left, bottom, INK);
  raster.line(margin.left, bottom, right, bottom, INK);
  raster.text(margin.left, 6, 'predicted', INK, scale);
  raster.text(right - textWidth('actual', scale), height - 4 - GLYPH_HEIGHT * scale, 'actual', INK, scale);
  return raster.toPng();
}

/** Fraction 0..1 to a white-to-blue ramp. */
const heat = (fraction: number): Rgb => [
  Math.round(255 - fraction * (255 - 8)),
  Math.round(255 - fraction * (255 - 48)),
  Math.round(255 - fraction * (255 - 107)),
];

const fitText = (text: string, maxWidth: number, scale: number): string => {
  let fitted = text;
  while (fitted.length > 0 && textWidth(fitted, scale) > maxWidth) fitted = fitted.slice(0, -1);
  return fitted;
};

/**
 * Rows are actual classes and columns predicted classes, in `labels` order. Cells are shaded by
 * their share of the row (per-class recall, readable when classes are imbalanced) and show the count.
 */
export function rasterConfusionMatrixPng({ matrix, labels }: ConfusionData): EncodedImage {
  const n = checkConfusionMatrix(matrix, labels);
  const cell = defaultCellSize(n, {});
  const scale = 2;
  const rowLabels = labels.map((label) => label.slice(0, 12));
  const left =
    8 + Math.max(textWidth('actual', scale), ...rowLabels.map((label) => textWidth(label, scale))) + 6;
  const top = 6 + (GLYPH_HEIGHT + 3) * scale + GLYPH_HEIGHT * scale + 6;
  const width = left + n * cell + 8;
  const height = top + n * cell + 8;

  const raster = new Raster(width, height);
  const labelRowY = top - 4 - GLYPH_HEIGHT * scale;
  raster.text(left, 6, 'predicted', INK, scale);
  raster.text(left - 6 - textWidth('actual', scale), labelRowY, 'actual', INK, scale);
  rowLabels.forEach((label, i) => {
    const y = top + i * cell + (cell - GLYPH_HEIGHT * scale) / 2;
    raster.text(left - 6 - textWidth(label, scale), y, label, INK, scale);
  });
  labels.forEach((label, i) => {
    // Column labels share the cell width: smaller glyphs before truncating.
    const room = cell - 6;
    const colScale = textWidth(label, scale) <= room ? scale : 1;
    const text = fitText(label, room, colScale);
    const y = labelRowY + (GLYPH_HEIGHT * (scale - colScale)) / 2;
    raster.text(left + i * cell + (cell - textWidth(text, colScale)) / 2, y, text, INK, colScale);
  });
  matrix.forEach((row, r) => {
    const total = row.reduce((sum, count) => sum + count, 0);
    row.forEach((count, c) => {
      const fraction = total > 0 ? count / total : 0;
      const x = left + c * cell;
      const y = top + r * cell;
      raster.fillRect(x, y, cell, cell, heat(fraction));
      const label = String(Math.round(count));
      const textScale = textWidth(label, 2) <= cell - 4 ? 2 : 1;
      if (textWidth(label, textScale) > cell - 2) return;
      const color: Rgb = fraction > 0.5 ? [255, 255, 255] : INK;
      raster.text(
        x + (cell - textWidth(label, textScale)) / 2,
        y + (cell - GLYPH_HEIGHT * textScale) / 2,
        label,
        color,
        textScale,
      );
    });
  });
  // Grid lines between cells and a frame, so equal neighbouring shades stay distinguishable.
  for (let i = 0; i <= n; i++) {
    raster.line(left + i * cell, top, left + i * cell, top + n * cell, GRID);
    raster.line(left, top + i * cell, left + n * cell, top + i * cell, GRID);
  }
  return raster.toPng();
}
