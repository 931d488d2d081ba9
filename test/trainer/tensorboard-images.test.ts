import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import {
  confusionMatrixPng,
  flattenConfig,
  markdownTable,
  scatterPng,
} from '../../trainer/tensorboard/index.js';
import { niceTicks, tickLabels } from '../../trainer/tensorboard/images.js';

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
  it('encodes a PNG of the stated size with points and the y = x diagonal', () => {
    const actual = Array.from({ length: 200 }, (_, i) => i / 10);
    const predicted = actual.map((v) => v + Math.sin(v));
    const image = scatterPng(actual, predicted);
    expect([image.width, image.height]).toEqual([480, 480]);
    const decoded = decode(image.png);
    expect([decoded.width, decoded.height]).toEqual([480, 480]);
    expect(countPixels(decoded, isRed)).toBeGreaterThan(300);
    expect(countPixels(decoded, isBlue)).toBeGreaterThan(200);
  });

  it('honours a custom size and tolerates constant or non-finite data', () => {
    const image = scatterPng([2, 2, NaN], [2, 2, 5], { width: 200, height: 150 });
    const decoded = decode(image.png);
    expect([decoded.width, decoded.height]).toEqual([200, 150]);
    expect(() => scatterPng([], [])).not.toThrow();
  });

  it('rejects mismatched inputs and sizes too small to plot', () => {
    expect(() => scatterPng([1, 2], [1])).toThrow(RangeError);
    expect(() => scatterPng([1], [1], { width: 40, height: 40 })).toThrow(RangeError);
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

describe('confusionMatrixPng', () => {
  it('shades cells by their share of the row', () => {
    const cell = 40;
    const image = confusionMatrixPng(
      [
        [90, 10],
        [30, 70],
      ],
      ['cat', 'dog'],
      { cellSize: cell },
    );
    const decoded = decode(image.png);
    expect([decoded.width, decoded.height]).toEqual([image.width, image.height]);
    // The matrix occupies the bottom-right corner (8 px padding), cells in row-major order.
    const left = image.width - 8 - 2 * cell;
    const top = image.height - 8 - 2 * cell;
    const shade = (row: number, col: number): number =>
      pixel(decoded, left + col * cell + 3, top + row * cell + 3)[0];
    expect(shade(0, 0)).toBeLessThan(shade(1, 1));
    expect(shade(1, 1)).toBeLessThan(shade(1, 0));
    expect(shade(1, 0)).toBeLessThan(shade(0, 1));
  });

  it('validates the matrix against the labels', () => {
    expect(() => confusionMatrixPng([[1, 2]], ['a'])).toThrow(RangeError);
    expect(() => confusionMatrixPng([[-1]], ['a'])).toThrow(RangeError);
    expect(() => confusionMatrixPng([], [])).toThrow(RangeError);
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
