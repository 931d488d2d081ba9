import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import {
  confusionMatrixPng,
  flattenConfig,
  markdownTable,
  scatterPng,
} from '../../trainer/tensorboard/index.js';
import {
  HEAT_HIGH,
  HEAT_LOW,
  MAX_SCATTER_POINTS,
  niceTicks,
  scatterSpec,
  tickLabels,
} from '../../trainer/tensorboard/images.js';
import { chartSvg } from '../../trainer/tensorboard/chart-png.js';

const decode = (png: Buffer): PNG => PNG.sync.read(png);

function pixel(image: PNG, x: number, y: number): [number, number, number] {
  const i = (y * image.width + x) * 4;
  return [image.data[i], image.data[i + 1], image.data[i + 2]];
}

function countPixels(image: PNG, test: (rgb: [number, number, number]) => boolean): number {
  let count = 0;
  for (let y = 0; y < image.height; y++)
    for (let x = 0; x < image.width; x++) if (test(pixel(image, x, y))) count++;
  return count;
}

const isRed = ([r, g, b]: [number, number, number]): boolean => r > 180 && g < 100 && b < 100;
const isBlue = ([r, , b]: [number, number, number]): boolean => b > 150 && r < 150 && b - r > 40;

describe('scatterPng', () => {
  it('encodes a PNG of the stated size with points and the y = x diagonal', async () => {
    const actual = Array.from({ length: 200 }, (_, i) => i / 10);
    const predicted = actual.map((v) => v + Math.sin(v));
    const image = await scatterPng(actual, predicted);
    expect([image.width, image.height]).toEqual([480, 480]);
    const decoded = decode(image.png);
    expect([decoded.width, decoded.height]).toEqual([480, 480]);
    expect(countPixels(decoded, isRed)).toBeGreaterThan(300);
    expect(countPixels(decoded, isBlue)).toBeGreaterThan(200);
  });

  it('puts the points where the axes say: a point at the low corner is drawn bottom-left', async () => {
    // Two clusters: (0, 0) and (10, 10); the diagonal joins them, so look for blue off it.
    const actual = [...Array(50).fill(0), ...Array(50).fill(10)];
    const predicted = [...Array(50).fill(10), ...Array(50).fill(0)];
    const decoded = decode((await scatterPng(actual, predicted)).png);
    const blueIn = (x0: number, x1: number, y0: number, y1: number): number => {
      let count = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (isBlue(pixel(decoded, x, y))) count++;
      return count;
    };
    // actual 0, predicted 10: left and top; actual 10, predicted 0: right and bottom.
    expect(blueIn(0, 240, 0, 240)).toBeGreaterThan(5);
    expect(blueIn(240, 480, 240, 480)).toBeGreaterThan(5);
    expect(blueIn(240, 480, 0, 240)).toBe(0);
  });

  it('draws tick labels, axis titles and a legend in the embedded font', async () => {
    const svg = await chartSvg({
      width: 200,
      height: 150,
      data: { values: [{ a: 1, b: 2 }] },
      mark: 'point',
      encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'b', type: 'quantitative' } },
    });
    expect(svg).toContain('font-family="Roboto"');
    // Text is real glyphs: dark pixels in the bottom band where the x-axis labels are.
    const image = await scatterPng([1, 2, 3], [1, 2, 3], { width: 200, height: 150 });
    const decoded = decode(image.png);
    expect([decoded.width, decoded.height]).toEqual([200, 150]);
    const isInk = ([r, g, b]: [number, number, number]): boolean => r < 100 && g < 100 && b < 100;
    expect(countPixels(decoded, isInk)).toBeGreaterThan(100);
  });

  it('draws a seeded sample of a large validation set and says so in the legend', async () => {
    const actual = Array.from({ length: 3 * MAX_SCATTER_POINTS }, (_, i) => i);
    const spec = JSON.stringify(scatterSpec(actual, actual));
    expect(spec).toContain(`validation rows (5,000 of 15,000)`);
    expect(spec.match(/"actual":/g)).toHaveLength(MAX_SCATTER_POINTS);
    expect(JSON.stringify(scatterSpec(actual, actual))).toBe(spec);
    const small = JSON.stringify(scatterSpec([1, 2], [1, 2]));
    expect(small).toContain('"validation rows"');
  });

  it('honours a custom size and tolerates constant or non-finite data', async () => {
    const image = await scatterPng([2, 2, NaN], [2, 2, 5], { width: 200, height: 150 });
    const decoded = decode(image.png);
    expect([decoded.width, decoded.height]).toEqual([200, 150]);
    await expect(scatterPng([], [])).resolves.toMatchObject({ width: 480, height: 480 });
  });

  it('rejects mismatched inputs and sizes too small to plot', async () => {
    await expect(scatterPng([1, 2], [1])).rejects.toThrow(RangeError);
    await expect(scatterPng([1], [1], { width: 40, height: 40 })).rejects.toThrow(RangeError);
  });
});

describe('axis ticks', () => {
  it('steps by 1, 2 or 5 times a power of ten and labels with the digits the step needs', () => {
    expect(niceTicks(-0.05, 1.05)).toEqual({ values: [0, 0.2, 0.4, 0.6, 0.8, 1], step: 0.2 });
    const { values, step } = niceTicks(10_000, 10_010);
    expect(tickLabels(values, step)).toEqual(['10000', '10002', '10004', '10006', '10008', '10010']);
    expect(tickLabels([0, 0.0005, 0.001], 0.0005)).toEqual(['0', '0.0005', '0.0010']);
    expect(tickLabels([-0.0002, 0, 0.0002], 0.0002)).toEqual(['-2e-4', '0', '2e-4']);
    expect(tickLabels([0, 2e6, 4e6], 2e6)).toEqual(['0', '2e6', '4e6']);
  });
});

/** `#rrggbb` to RGB. */
const rgb = (hex: string): [number, number, number] =>
  [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];

/** The colour of a share on the white-to-blue ramp, interpolated in RGB as the chart's scale is. */
const heat = (share: number): [number, number, number] => {
  const [low, high] = [rgb(HEAT_LOW), rgb(HEAT_HIGH)];
  return low.map((v, i) => Math.round(v + share * (high[i] - v))) as [number, number, number];
};

describe('confusionMatrixPng', () => {
  it('shades each cell by its share of the row', async () => {
    const cell = 40;
    const image = await confusionMatrixPng(
      [
        [90, 10],
        [30, 70],
      ],
      ['cat', 'dog'],
      { cellSize: cell },
    );
    const decoded = decode(image.png);
    expect([decoded.width, decoded.height]).toEqual([image.width, image.height]);
    // Each share's colour fills most of one cell (the count and the grid take the rest).
    for (const share of [0.9, 0.1, 0.3, 0.7]) {
      const [r, g, b] = heat(share);
      const near = ([pr, pg, pb]: [number, number, number]) =>
        Math.abs(pr - r) <= 2 && Math.abs(pg - g) <= 2 && Math.abs(pb - b) <= 2;
      const count = countPixels(decoded, near);
      expect(count, `share ${share}`).toBeGreaterThan(cell * cell * 0.6);
      expect(count, `share ${share}`).toBeLessThan(cell * cell * 1.5);
    }
  });

  it('sizes cells by cellSize and keeps classes with the same name apart', async () => {
    const small = await confusionMatrixPng(
      [
        [1, 0],
        [0, 1],
      ],
      ['a', 'b'],
      { cellSize: 20 },
    );
    const large = await confusionMatrixPng(
      [
        [1, 0],
        [0, 1],
      ],
      ['a', 'b'],
      { cellSize: 60 },
    );
    expect(large.width - small.width).toBe(80);
    // (The height is also the legend's, which may be taller than a small matrix.)
    expect(large.height).toBeGreaterThan(small.height);
    // Two classes named alike still make a 2x2 matrix: 4 cells, two of them full.
    const twins = decode(
      (
        await confusionMatrixPng(
          [
            [5, 0],
            [0, 5],
          ],
          ['x', 'x'],
          { cellSize: 40 },
        )
      ).png,
    );
    const [r, g, b] = heat(1);
    const full = countPixels(
      twins,
      ([pr, pg, pb]) => Math.abs(pr - r) <= 2 && Math.abs(pg - g) <= 2 && Math.abs(pb - b) <= 2,
    );
    expect(full).toBeGreaterThan(2 * 40 * 40 * 0.6);
  });

  it('validates the matrix against the labels', async () => {
    await expect(confusionMatrixPng([[1, 2]], ['a'])).rejects.toThrow(RangeError);
    await expect(confusionMatrixPng([[-1]], ['a'])).rejects.toThrow(RangeError);
    await expect(confusionMatrixPng([], [])).rejects.toThrow(RangeError);
  });
});

describe('config table', () => {
  it('flattens nested objects and arrays into paths', () => {
    const when = new Date('2024-01-02T03:04:05Z');
    expect(
      flattenConfig({
        kind: 'Training',
        model: { layers: [{ units: 8 }, { units: 1, activation: null }], dropout: 0.1 },
        tags: [],
        extra: {},
        skipped: undefined,
        at: when,
      }),
    ).toEqual([
      ['kind', 'Training'],
      ['model.layers[0].units', '8'],
      ['model.layers[1].units', '1'],
      ['model.layers[1].activation', 'null'],
      ['model.dropout', '0.1'],
      ['tags', '[]'],
      ['extra', '{}'],
      ['at', '2024-01-02T03:04:05.000Z'],
    ]);
  });

  it('renders a markdown table with cells that cannot break the layout', () => {
    expect(
      markdownTable([
        ['data.filter', 'a|b'],
        ['note', 'line one\nline *two* <b>'],
      ]),
    ).toMatchInlineSnapshot(`
      "| key | value |
      | --- | --- |
      | data.filter | a\\|b |
      | note | line one line \\*two\\* &lt;b> |"
    `);
  });
});
