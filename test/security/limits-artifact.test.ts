/**
 * Issue 18, item 10: crafted artifacts against the model loader, through `mlform serve` (built:
 * needs `npm run build`) and a child process that loads them with the same loader and reports its
 * memory. A 1.5 KB model.json declaring a huge layer used to reach gigabytes before failing; now
 * every crafted file is refused in well under a second, before anything is allocated for it.
 */
import { spawnSync } from 'node:child_process';
import { cp, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, trainArtifact, type TinyArtifact } from '../serving/helpers.js';

let dir: { path: string; remove(): Promise<void> };
let cars: TinyArtifact;

beforeAll(async () => {
  dir = await tempDir();
  cars = await trainArtifact('cars', join(dir.path, 'good'), { epochs: 1 });
});

afterAll(async () => {
  await dir?.remove();
});

interface ModelJson {
  modelTopology: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
}

/** A copy of the good artifact with some files rewritten. */
async function crafted(name: string, edit: (target: string, model: ModelJson) => Promise<void>) {
  const target = join(dir.path, name);
  await cp(cars.dir, target, { recursive: true });
  const model = JSON.parse(await readFile(join(target, 'model.json'), 'utf8')) as ModelJson;
  await edit(target, model);
  return target;
}

const saveModel = (target: string, model: ModelJson) =>
  writeFile(join(target, 'model.json'), JSON.stringify(model));

const firstDense = (model: ModelJson) => {
  const layer = model.modelTopology.config.layers.find((l) => l.class_name === 'Dense');
  if (!layer) throw new Error('the tiny artifact has no Dense layer');
  return layer;
};

/** `mlform serve --model DIR`: it must exit 1 quickly with the loader's sentence. */
function serve(artifact: string): { code: number | null; out: string; ms: number } {
  const started = Date.now();
  const r = spawnSync(
    process.execPath,
    ['bin/mlform.js', 'serve', '--model', artifact, '--name', 'mpg', '--port', '0'],
    {
      encoding: 'utf8',
      env: { ...process.env, PORT: '', MODEL_URI: '', MODEL_NAME: '', NO_COLOR: '1', MLFORM_BACKEND: 'wasm' },
      timeout: 60_000,
    },
  );
  return { code: r.status, out: `${r.stdout}${r.stderr}`, ms: Date.now() - started };
}

/**
 * Loads the artifact in a fresh node with the built loader and reports the error and how much the
 * process grew (resident set and array buffers, where tensors and file contents live).
 */
function loadInChild(artifact: string): { error: string; rssGrowthMb: number; ms: number } {
  const loader = pathToFileURL(join(process.cwd(), 'dist/serving/model-version.js')).href;
  const backend = pathToFileURL(join(process.cwd(), 'dist/artifact/tfjs-backend.js')).href;
  const script = `
    const { selectBackend } = await import(${JSON.stringify(backend)});
    const { loadModelVersion } = await import(${JSON.stringify(loader)});
    await selectBackend({ acceleratorRequested: false });
    const before = process.memoryUsage();
    const started = Date.now();
    let error = '';
    try { await loadModelVersion({ version: 1, uri: ${JSON.stringify(artifact)} }); }
    catch (e) { error = String(e && e.message); }
    const after = process.memoryUsage();
    const grew = Math.max(after.rss - before.rss, after.arrayBuffers - before.arrayBuffers, after.external - before.external);
    console.log(JSON.stringify({ error, rssGrowthMb: grew / 2 ** 20, ms: Date.now() - started }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, MLFORM_BACKEND: 'wasm' },
    timeout: 60_000,
  });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  expect(line, r.stderr).toMatch(/^\{/);
  return JSON.parse(line) as { error: string; rssGrowthMb: number; ms: number };
}

describe('crafted artifacts are refused before allocation (item 10)', () => {
  it('serves the untouched artifact (the crafted ones below differ only where they say)', () => {
    const r = loadInChild(cars.dir);
    expect(r.error).toBe('');
  });

  it('a tiny model.json declaring a huge layer, weights.bin unchanged', async () => {
    const artifact = await crafted('huge-layer', async (target, model) => {
      firstDense(model).config.units = 2_000_000_000;
      await saveModel(target, model);
    });
    expect((await readFile(join(artifact, 'model.json'))).length).toBeLessThan(8_000);
    const loaded = loadInChild(artifact);
    expect(loaded.error).toMatch(
      /the topology has more than \d+ parameters but the weights manifest declares \d+/,
    );
    expect(loaded.rssGrowthMb).toBeLessThan(64);
    expect(loaded.ms).toBeLessThan(2_000);
    const served = serve(artifact);
    expect(served.code, served.out).toBe(1);
    expect(served.out).toContain('parameters but the weights manifest declares');
  });

  it('topology and manifest agreeing on a huge layer, with a tiny weights.bin', async () => {
    const artifact = await crafted('huge-declared', async (target, model) => {
      const dense = firstDense(model);
      const name = String(dense.config.name);
      dense.config.units = 50_000_000;
      for (const w of model.weightsManifest[0].weights) {
        if (w.name === `${name}/kernel`) w.shape = [w.shape[0], 50_000_000];
        if (w.name === `${name}/bias`) w.shape = [50_000_000];
      }
      // The next layer reads 50M inputs.
      const layers = model.modelTopology.config.layers.filter((l) => l.class_name === 'Dense');
      const next = layers[1];
      for (const w of model.weightsManifest[0].weights) {
        if (w.name === `${String(next.config.name)}/kernel`) w.shape = [50_000_000, w.shape[1]];
      }
      await saveModel(target, model);
    });
    const loaded = loadInChild(artifact);
    expect(loaded.error).toMatch(
      /declares more than \d+ bytes of weights, over the limit \(MLFORM_MAX_MODEL_BYTES\)/,
    );
    expect(loaded.rssGrowthMb).toBeLessThan(64);
    expect(loaded.ms).toBeLessThan(2_000);
  });

  it('a weights.bin whose size does not match what model.json declares', async () => {
    const artifact = await crafted('short-weights', async (target) => {
      const weights = await readFile(join(target, 'weights.bin'));
      await writeFile(join(target, 'weights.bin'), weights.subarray(0, weights.length - 4));
    });
    const loaded = loadInChild(artifact);
    expect(loaded.error).toMatch(/declares \d+ bytes of weights but its weight files hold \d+/);
    const served = serve(artifact);
    expect(served.code, served.out).toBe(1);
    expect(served.out).toContain('the files do not belong together');
  });

  it('a 100 MB preprocess.json is refused unread', async () => {
    const artifact = await crafted('big-preprocess', async (target) => {
      // Sparse: the file claims 100 MB without the test writing them.
      await truncate(join(target, 'preprocess.json'), 100 * 2 ** 20);
    });
    const loaded = loadInChild(artifact);
    expect(loaded.error).toMatch(/preprocess\.json is 100\.0 MiB, over the limit of 16\.0 MiB/);
    expect(loaded.rssGrowthMb).toBeLessThan(64);
    expect(loaded.ms).toBeLessThan(1_000);
    const served = serve(artifact);
    expect(served.code, served.out).toBe(1);
    expect(served.out).toContain('over the limit of 16.0 MiB');
    expect(served.ms).toBeLessThan(15_000);
  });

  it('a million-entry vocabulary is refused before the encoder is built', async () => {
    const artifact = await crafted('huge-vocabulary', async (target) => {
      const preprocess = JSON.parse(await readFile(join(target, 'preprocess.json'), 'utf8')) as {
        features: { name: string; type: string; vocabulary?: string[] }[];
      };
      const categorical = preprocess.features.find((f) => f.type === 'categorical');
      if (!categorical) throw new Error('the tiny artifact has no categorical feature');
      categorical.vocabulary = Array.from({ length: 1_000_000 }, (_, i) => `v${i}`);
      await writeFile(join(target, 'preprocess.json'), JSON.stringify(preprocess));
    });
    const loaded = loadInChild(artifact);
    expect(loaded.error).toMatch(/has a vocabulary of 1000000 entries, over the limit of 10001/);
    expect(loaded.ms).toBeLessThan(2_000);
  });

  it('the weights limit is the operator’s: MLFORM_MAX_MODEL_BYTES lowers it for a process', () => {
    const r = spawnSync(
      process.execPath,
      ['bin/mlform.js', 'serve', '--model', cars.dir, '--name', 'mpg', '--port', '0'],
      {
        encoding: 'utf8',
        env: { ...process.env, PORT: '', MODEL_URI: '', MODEL_NAME: '', MLFORM_MAX_MODEL_BYTES: '16' },
        timeout: 60_000,
      },
    );
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout + r.stderr).toContain('over the limit (MLFORM_MAX_MODEL_BYTES)');
  });
});
