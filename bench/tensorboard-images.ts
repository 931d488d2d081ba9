/**
 * What drawing the trainer's TensorBoard images with Vega-Lite + resvg-wasm costs next to the
 * hand-written raster it replaced (kept as the floor in bench/tensorboard-images-raster/), in one
 * run: the first image of a process (imports, WebAssembly compile, font load), the median per
 * image after that (split into Vega's SVG and resvg's rasterising), the PNG size, and what the
 * packages add to node_modules. Images: a predicted-vs-actual scatter of 1,000 validation rows,
 * confusion matrices of 3 and 10 classes, and the four charts of a 30-trial study.
 *
 * Run: npm run bench -- tensorboard-images
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { chartPng, chartSvg } from '../trainer/tensorboard/chart-png.js';
import type { ChartSpec, EncodedImage } from '../trainer/tensorboard/chart-png.js';
import {
  confusionMatrixPng,
  confusionMatrixSpec,
  scatterPng,
  scatterSpec,
} from '../trainer/tensorboard/images.js';
import { mulberry32 } from '../trainer/data/random.js';
import {
  historyChart,
  importanceChart,
  parallelCoordinatesChart,
} from '../trainer/tuning/visualise/charts.js';
import { computeStudyPlots } from '../trainer/tuning/visualise/index.js';
import { studyFixture } from '../test/trainer/tuning-visual-fixture.js';
import { rasterConfusionMatrixPng, rasterScatterPng } from './tensorboard-images-raster/images.js';

const ROUNDS = 15;
const ROOT = join(import.meta.dirname, '..');

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function timeIt<T>(fn: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

async function medianMs(fn: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) times.push((await timeIt(fn)).ms);
  return median(times);
}

function scatterData(): { actual: number[]; predicted: number[] } {
  const random = mulberry32(7);
  const actual = Array.from({ length: 1000 }, () => 10 + 30 * random());
  return { actual, predicted: actual.map((v) => v + 4 * (random() + random() - 1)) };
}

function confusion(n: number): { matrix: number[][]; labels: string[] } {
  const random = mulberry32(n);
  const matrix = Array.from({ length: n }, (_, r) =>
    Array.from({ length: n }, (_, c) => Math.round((r === c ? 80 : 6) * random())),
  );
  return { matrix, labels: Array.from({ length: n }, (_, i) => `class-${i}`) };
}

/** Bytes on disk of `packages` and everything they depend on, each installed folder counted once. */
async function installedBytes(packages: readonly string[]): Promise<number> {
  const seen = new Set<string>();
  const dirBytes = async (dir: string): Promise<number> => {
    let total = 0;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) total += entry.name === 'node_modules' ? 0 : await dirBytes(path);
      else total += (await stat(path)).size;
    }
    return total;
  };
  let total = 0;
  const visit = async (name: string): Promise<void> => {
    const dir = join(ROOT, 'node_modules', name);
    if (seen.has(dir)) return;
    seen.add(dir);
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    total += await dirBytes(dir);
    for (const dependency of Object.keys(manifest.dependencies ?? {})) await visit(dependency);
  };
  for (const name of packages) await visit(name);
  return total;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 0)} ms`;

export async function runTensorboardImagesBench(): Promise<string> {
  const { actual, predicted } = scatterData();
  const small = confusion(3);
  const large = confusion(10);
  const plots = computeStudyPlots(studyFixture(30));
  const studySpecs: [string, ChartSpec][] = [
    ['study history (30 trials)', historyChart(plots)],
    ['study parallel coordinates (30 trials, 3 params)', parallelCoordinatesChart(plots)],
    ['study importance (3 params)', importanceChart(plots.importance!)],
  ];

  // First: nothing of Vega or resvg is loaded yet in this process.
  const first = await timeIt(() => scatterPng(actual, predicted));
  const rows: string[] = [];
  const row = async (
    name: string,
    raster: (() => EncodedImage) | undefined,
    chart: () => Promise<EncodedImage>,
    spec: () => ChartSpec,
  ) => {
    const image = await chart();
    const chartMs = await medianMs(chart);
    const svgMs = await medianMs(() => chartSvg(spec()));
    const rasterCells = raster ? [ms(await medianMs(raster)), kib(raster().png.length)] : ['—', '—'];
    rows.push(
      `| ${name} | ${rasterCells[0]} | ${ms(chartMs)} | ${ms(svgMs)} | ${ms(chartMs - svgMs)} | ${rasterCells[1]} | ${kib(image.png.length)} (${image.width}×${image.height}) |`,
    );
  };
  await row(
    'scatter, 1,000 points',
    () => rasterScatterPng({ actual, predicted }),
    () => scatterPng(actual, predicted),
    () => scatterSpec(actual, predicted),
  );
  await row(
    'confusion matrix, 3 classes',
    () => rasterConfusionMatrixPng(small),
    () => confusionMatrixPng(small.matrix, small.labels),
    () => confusionMatrixSpec(small.matrix, small.labels),
  );
  await row(
    'confusion matrix, 10 classes',
    () => rasterConfusionMatrixPng(large),
    () => confusionMatrixPng(large.matrix, large.labels),
    () => confusionMatrixSpec(large.matrix, large.labels),
  );
  for (const [name, spec] of studySpecs)
    await row(
      name,
      undefined,
      () => chartPng(spec),
      () => spec,
    );

  const libraries = await installedBytes([
    'vega',
    'vega-lite',
    '@resvg/resvg-wasm',
    '@expo-google-fonts/roboto',
  ]);
  const forest = await installedBytes(['ml-random-forest']);
  const pngjs = await installedBytes(['pngjs']);
  return [
    `First image of a process (scatter, imports + WebAssembly compile + font load included): **${ms(first.ms)}**; the raster needed no start-up.`,
    '',
    `Median of ${ROUNDS} after that:`,
    '',
    '| image | raster (before) | Vega-Lite + resvg | of which Vega SVG | of which resvg PNG | PNG bytes before | PNG bytes now |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `Installed size: vega + vega-lite + @resvg/resvg-wasm + the Roboto font package, with their dependencies: ${mib(libraries)} (the raster needed only pngjs, ${kib(pngjs)}, now a test-only dependency); ml-random-forest (study importance) with its dependencies: ${mib(forest)}.`,
    '',
    'A training draws one image (a scatter or a confusion matrix) and a study four charts once at its end, so the added cost is a fraction of a second against trainings of seconds to hours; in return the images have real axes, tick labels, titles and legends in an embedded font.',
  ].join('\n');
}
