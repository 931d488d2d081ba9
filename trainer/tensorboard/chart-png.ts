/**
 * Charts to PNG for TensorBoard's IMAGES tab: a Vega-Lite spec is compiled to Vega, rendered
 * headless to SVG (Vega's string renderer needs no canvas), then rasterised by resvg compiled to
 * WebAssembly. resvg-wasm sees no system fonts, so the text is set in Roboto (OFL) read from
 * node_modules; nothing is fetched at run time. The libraries are imported on the first chart,
 * so a process that draws none (the CLI, a training without images) never pays their start-up.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { TopLevelSpec } from 'vega-lite';

export interface EncodedImage {
  png: Buffer;
  width: number;
  height: number;
}

export type ChartSpec = TopLevelSpec;

/** The family every chart names; the only font resvg is given. */
export const CHART_FONT = 'Roboto';

const require = createRequire(import.meta.url);
const FONT_FILE = '@expo-google-fonts/roboto/400Regular/Roboto_400Regular.ttf';
const WASM_FILE = '@resvg/resvg-wasm/index_bg.wasm';

interface Renderer {
  svg(spec: ChartSpec): Promise<string>;
  png(svg: string): { png: Buffer; width: number; height: number };
}

let renderer: Promise<Renderer> | undefined;

async function loadRenderer(): Promise<Renderer> {
  const [vegaLite, vega, resvg, font, wasm] = await Promise.all([
    import('vega-lite'),
    import('vega'),
    import('@resvg/resvg-wasm'),
    readFile(require.resolve(FONT_FILE)),
    readFile(require.resolve(WASM_FILE)),
  ]);
  await resvg.initWasm(wasm);
  const fontOptions = {
    fontBuffers: [new Uint8Array(font)],
    loadSystemFonts: false,
    defaultFontFamily: CHART_FONT,
  };
  return {
    async svg(spec) {
      // Warnings (merged legends and the like) are ours to fix in the specs, not the user's to read.
      const quiet = vega.logger(vega.Error);
      const compiled = vegaLite.compile(spec, { logger: quiet }).spec;
      const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger: quiet });
      try {
        return await view.toSVG();
      } finally {
        view.finalize();
      }
    },
    png(svg) {
      const rendered = new resvg.Resvg(svg, { font: fontOptions, background: 'white' }).render();
      try {
        return { png: Buffer.from(rendered.asPng()), width: rendered.width, height: rendered.height };
      } finally {
        rendered.free();
      }
    },
  };
}

/** The shared look: white background, the embedded font, padding inside the stated size. */
const withDefaults = (spec: ChartSpec): ChartSpec =>
  ({
    background: 'white',
    padding: 8,
    autosize: { type: 'fit', contains: 'padding' },
    ...spec,
    config: {
      font: CHART_FONT,
      axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' },
      legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' },
      title: { fontSize: 14, fontWeight: 'normal', anchor: 'start' },
      ...spec.config,
    },
  }) as ChartSpec;

function getRenderer(): Promise<Renderer> {
  // A failed load (a missing file) is not cached: the next chart tries again.
  renderer ??= loadRenderer().catch((error: unknown) => {
    renderer = undefined;
    throw error;
  });
  return renderer;
}

/** The SVG Vega draws for `spec` (with the shared defaults). */
export async function chartSvg(spec: ChartSpec): Promise<string> {
  return (await getRenderer()).svg(withDefaults(spec));
}

/** Renders `spec` to a PNG; its size is the spec's `width` x `height` (autosize fit, padding included). */
export async function chartPng(spec: ChartSpec): Promise<EncodedImage> {
  const render = await getRenderer();
  return render.png(await render.svg(withDefaults(spec)));
}
