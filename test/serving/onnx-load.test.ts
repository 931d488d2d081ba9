/**
 * A malformed or hostile ONNX artifact fails to load with a sentence naming the file and what is
 * wrong, before it takes traffic: the artifact is attacker-written (SECURITY.md), so its model
 * path, symbolic links, size and external data are checked, and artifact.json must fit the
 * contract and the model it describes.
 */
import { cp, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MODEL_BYTES_ENV } from '../../artifact/limits.js';
import { loadModelVersion } from '../../serving/index.js';
import { tempDir } from './helpers.js';
import { ONNX_FIXTURES } from './onnx-fixtures.js';

let dir: { path: string; remove(): Promise<void> };
let count = 0;

beforeAll(async () => {
  dir = await tempDir();
});

afterAll(async () => {
  await dir?.remove();
});

/** A copy of a fixture, its artifact.json changed by `edit`. */
async function variant(
  fixture: string,
  edit: (descriptor: Record<string, unknown>) => unknown = (d) => d,
): Promise<string> {
  const target = join(dir.path, `${fixture}-${++count}`);
  await cp(join(ONNX_FIXTURES, fixture), target, { recursive: true });
  const file = join(target, 'artifact.json');
  const descriptor = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  await writeFile(file, JSON.stringify(edit(descriptor)));
  return target;
}

const load = (uri: string) => loadModelVersion({ version: 1, uri, percent: 100 });

async function loadError(uri: string): Promise<string> {
  try {
    const version = await load(uri);
    version.dispose();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${uri} loaded`);
}

describe('ONNX artifacts that must not load', () => {
  it('a file that is not an ONNX model', async () => {
    const uri = await variant('cars-stacked');
    await writeFile(join(uri, 'model.onnx'), 'not a protobuf at all');
    expect(await loadError(uri)).toMatch(/model\.onnx is not an ONNX model onnxruntime can load: .*protobuf/);
  });

  it('a model whose weights live in an external data file', async () => {
    const uri = await variant('cars-stacked', (d) => ({ ...d, model: 'external-data.onnx' }));
    await cp(join(ONNX_FIXTURES, 'hostile', 'external-data.onnx'), join(uri, 'external-data.onnx'));
    await cp(join(ONNX_FIXTURES, 'hostile', 'weights.bin'), join(uri, 'weights.bin'));
    expect(await loadError(uri)).toContain(
      'external data files are not supported: export the model as one self-contained .onnx file',
    );
  });

  it('a model path out of the folder, or a symbolic link out of it', async () => {
    const escaping = await variant('cars-stacked', (d) => ({ ...d, model: '../cars-stacked/model.onnx' }));
    expect(await loadError(escaping)).toMatch(/artifact\.json: model: must match pattern/);
    const linked = await variant('cars-stacked');
    const outside = join(dir.path, 'outside.onnx');
    await cp(join(linked, 'model.onnx'), outside);
    await rm(join(linked, 'model.onnx'));
    await symlink(outside, join(linked, 'model.onnx'));
    expect(await loadError(linked)).toContain(
      'model "model.onnx" resolves outside the artifact folder (a symbolic link?)',
    );
  });

  it('a model over MLFORM_MAX_MODEL_BYTES, refused before it is read', async () => {
    const uri = await variant('cars-stacked');
    process.env[MAX_MODEL_BYTES_ENV] = '1000';
    try {
      expect(await loadError(uri)).toMatch(/model\.onnx: .* over the limit of/);
    } finally {
      delete process.env[MAX_MODEL_BYTES_ENV];
    }
  });

  it('an artifact.json that is not JSON, or not the contract (naming the field)', async () => {
    const notJson = await variant('cars-stacked');
    await writeFile(join(notJson, 'artifact.json'), '{"format": "onnx",');
    expect(await loadError(notJson)).toMatch(/artifact\.json is not JSON/);
    const kind = await variant('cars-stacked', (d) => ({ ...d, input: { kind: 'flat' } }));
    expect(await loadError(kind)).toMatch(
      /artifact\.json: input\.kind: must be equal to one of the allowed values \(encoded, stacked, named\)/,
    );
    const extra = await variant('cars-stacked', (d) => ({ ...d, weights: 'x' }));
    expect(await loadError(extra)).toContain('must NOT have additional properties "weights"');
  });

  it('a format mlform serve does not serve', async () => {
    const uri = await variant('cars-stacked', (d) => ({ ...d, format: 'savedmodel' }));
    expect(await loadError(uri)).toContain(
      'format "savedmodel" is not served by mlform serve (tfjs and onnx are); serve it from your own image with the endpoint\'s spec.container',
    );
  });

  it('a descriptor that does not fit the model: feature count, input names, output shape, labels', async () => {
    const fewer = await variant('cars-stacked', (d) => ({
      ...d,
      features: (d.features as unknown[]).slice(0, 3),
    }));
    expect(await loadError(fewer)).toContain(
      'input "raw" has shape [n, 5]; stacked input needs [N, 3] (one per feature)',
    );
    const unfed = await variant('cars-named', (d) => ({
      ...d,
      features: (d.features as unknown[]).slice(0, 3),
    }));
    expect(await loadError(unfed)).toContain('no feature feeds model input "american"');
    const wrongInput = await variant('cars-named', (d) => ({
      ...d,
      features: [
        ...(d.features as object[]).slice(0, 3),
        { name: 'american', type: 'boolean', input: 'usa' },
      ],
    }));
    expect(await loadError(wrongInput)).toContain(
      'the model has no input "usa" (inputs: horsepower, weight, cylinders, american)',
    );
    const boolAsNumber = await variant('cars-named', (d) => ({
      ...d,
      features: [...(d.features as object[]).slice(0, 3), { name: 'american', type: 'numeric' }],
    }));
    expect(await loadError(boolAsNumber)).toContain(
      'input "american" is bool but feature "american" is numeric',
    );
    const fourLabels = await variant('iris-logits', (d) => ({ ...d, labels: ['a', 'b', 'c', 'd'] }));
    expect(await loadError(fourLabels)).toContain(
      'output "logits" has shape [n, 3]; expected [N, 4] (one per label)',
    );
    const noLabels = await variant('iris-logits', ({ labels: _, ...d }) => d);
    expect(await loadError(noLabels)).toContain('labels is required for classification');
    const noKind = await variant('iris-logits', ({ output: _, ...d }) => d);
    expect(await loadError(noKind)).toContain('output.kind is required for classification');
    const regressionLogits = await variant('cars-stacked', (d) => ({ ...d, output: { kind: 'logits' } }));
    expect(await loadError(regressionLogits)).toContain('output.kind "logits" does not fit task regression');
    const categorical = await variant('cars-stacked', (d) => ({
      ...d,
      features: [...(d.features as object[]).slice(0, 4), { name: 'Origin', type: 'categorical' }],
    }));
    expect(await loadError(categorical)).toContain('features.4 ("Origin") is categorical');
  });

  it('encoded: preprocess.json missing, or disagreeing with artifact.json', async () => {
    const missing = await variant('cars-encoded');
    await rm(join(missing, 'preprocess.json'));
    expect(await loadError(missing)).toContain('input.kind "encoded" needs preprocess.json');
    const labels = await variant('iris-probabilities', (d) => ({ ...d, labels: ['x', 'y', 'z'] }));
    expect(await loadError(labels)).toContain('artifact.json and preprocess.json disagree on the labels');
    const task = await variant('cars-encoded', (d) => ({
      ...d,
      task: 'classification',
      output: { kind: 'logits' },
      labels: ['a', 'b'],
    }));
    expect(await loadError(task)).toContain('disagree on the task (classification vs regression)');
  });
});

describe('ONNX artifacts that load', () => {
  it('an artifact.json naming its model file and input', async () => {
    const uri = await variant('cars-stacked', (d) => ({
      ...d,
      model: 'net/mpg.onnx',
      input: { kind: 'stacked', name: 'raw' },
    }));
    await mkdir(join(uri, 'net'));
    await rename(join(uri, 'model.onnx'), join(uri, 'net', 'mpg.onnx'));
    const version = await load(uri);
    try {
      expect(version.preprocess.features.map((f) => f.name)).toEqual([
        'Cylinders',
        'Displacement',
        'Horsepower',
        'Weight_in_lbs',
        'Acceleration',
      ]);
    } finally {
      version.dispose();
    }
  });
});
