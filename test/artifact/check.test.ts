/**
 * The artifact checker (artifact/check.ts) on folders built here: the builtin trainer's own
 * artifact, ONNX models exported by torch (test/fixtures/onnx-contract/make.py) with their
 * descriptors, and broken or hostile ones, each problem pinned with its file and field.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  artifactProblem,
  checkArtifact,
  describeArtifact,
  type ArtifactCheck,
} from '../../artifact/check.js';
import { localStore, setDefaultGcsStore, type ObjectStore } from '../../artifact/storage.js';
import { resolveTraining } from '../../trainer/main.js';
import { runTraining } from '../../trainer/run-training.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { CLASSIFIER, NAMED, REGRESSOR } from '../fixtures/onnx-contract/descriptors.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/onnx-contract');
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-artifact-check-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

let count = 0;
/** A fresh artifact folder with the given JSON files and fixture models. */
async function folder(files: Record<string, unknown>, models: Record<string, string> = {}): Promise<string> {
  const dir = join(root, `a${++count}`);
  await mkdir(dir, { recursive: true });
  for (const [name, value] of Object.entries(files)) {
    await writeFile(join(dir, name), typeof value === 'string' ? value : JSON.stringify(value));
  }
  for (const [name, fixture] of Object.entries(models))
    await copyFile(join(FIXTURES, fixture), join(dir, name));
  return dir;
}

const METRICS = { formatVersion: 1, metrics: { val_mae: 2.1, val_loss: 0.3 }, baseline: { val_mae: 6.4 } };
const CLASS_METRICS = { formatVersion: 1, metrics: { val_accuracy: 0.9 }, baseline: { val_accuracy: 0.34 } };
/** Five numeric features and a categorical one of two values: 7 encoded columns. */
const PREPROCESS = {
  formatVersion: 1,
  task: 'regression',
  features: [
    ...['cylinders', 'displacement', 'horsepower', 'weight', 'year'].map((name) => ({
      name,
      type: 'numeric',
      mean: 10,
      std: 2,
      fill: 10,
    })),
    { name: 'origin', type: 'categorical', vocabulary: ['eu', 'us'] },
  ],
  target: { type: 'numeric', name: 'mpg', mean: 23, std: 7 },
  encodedWidth: 7,
  inputShape: [7],
};
const numericStatistics = (count: number, missing: number, edges: number[], counts: number[]) => ({
  type: 'numeric',
  count,
  missing,
  edges,
  counts,
  min: 0,
  max: 100,
  mean: 50,
  std: 10,
});

const problems = (check: ArtifactCheck) =>
  check.diagnostics.map((d) => `${d.severity} ${artifactProblem(d)}${d.hint ? ` | ${d.hint}` : ''}`);
const errors = (check: ArtifactCheck) =>
  check.diagnostics.filter((d) => d.severity === 'error').map((d) => artifactProblem(d));

describe('artifacts that follow the contract', () => {
  /** The builtin trainer on one of the examples, 2 epochs, the way `mlform train` runs it. */
  async function trainBuiltin(specFile: string, out: string) {
    const env = { MLFORM_BACKEND: 'wasm' };
    const resolved = await resolveTraining({ specFile, out }, env);
    if (!resolved.ok) throw new Error(JSON.stringify(resolved.diagnostics));
    const spec = structuredClone(resolved.value.resource.manifest.spec) as TrainingRunSpec;
    spec.trainer.builtin!.hyperparameters.epochs = 2;
    return runTraining({ spec, baseDir: resolved.value.baseDir, outDir: out, onEvent: () => {}, env });
  }

  it("the builtin trainer's artifacts pass as they are (tfjs, no artifact.json)", async () => {
    const cars = join(root, 'builtin-cars');
    const trained = await trainBuiltin('examples/quickstart/training.yaml', cars);
    const check = await checkArtifact(cars);
    expect(problems(check)).toEqual([]);
    expect(check).toMatchObject({ ok: true, format: 'tfjs', task: 'regression' });
    const { descriptor, model, input, output } = check.summary;
    expect([descriptor, model, input, output]).toEqual(['builtin', 'model.json', 'encoded', 'value']);
    expect(check.summary.metrics.val_mae).toBe(trained.metrics.metrics.val_mae);
    expect(describeArtifact(check)).toMatch(
      /^tfjs regression model, 7 features, metrics val_mae [\d.]+ \(baseline [\d.]+\), val_rmse [\d.]+ \(baseline [\d.]+\), reference statistics$/,
    );

    const iris = join(root, 'builtin-iris');
    await trainBuiltin('examples/trainer/iris.yaml', iris);
    const classifier = await checkArtifact(iris);
    expect(problems(classifier)).toEqual([]);
    expect(classifier).toMatchObject({ ok: true, format: 'tfjs', task: 'classification' });
    expect(classifier.summary).toMatchObject({ output: 'probabilities', labels: 3 });
  }, 60_000);

  it('an ONNX regressor fed by preprocess.json', async () => {
    const dir = await folder(
      { 'metrics.json': METRICS, 'preprocess.json': PREPROCESS, 'artifact.json': REGRESSOR },
      { 'model.onnx': 'regressor-7.onnx' },
    );
    const check = await checkArtifact(dir);
    expect(problems(check)).toEqual([]);
    expect(describeArtifact(check)).toBe(
      'onnx regression model, 6 features, metrics val_mae 2.1 (baseline 6.4)',
    );
    // A file:// URI is the same folder; initializers listed in graph.input are not inputs.
    const old = await folder(
      {
        'metrics.json': METRICS,
        'preprocess.json': PREPROCESS,
        'artifact.json': { ...REGRESSOR, model: 'net/m.onnx' },
      },
      {},
    );
    await mkdir(join(old, 'net'));
    await copyFile(join(FIXTURES, 'regressor-7-initializer-inputs.onnx'), join(old, 'net/m.onnx'));
    expect(problems(await checkArtifact(`file://${old}`))).toEqual([]);
    // An output [N] is a regression value; a dynamic feature dimension cannot be checked: a warning.
    const flat = await folder(
      { 'metrics.json': METRICS, 'preprocess.json': PREPROCESS, 'artifact.json': REGRESSOR },
      { 'model.onnx': 'regressor-7-flat.onnx' },
    );
    expect(problems(await checkArtifact(flat))).toEqual([]);
    const dynamic = await folder(
      { 'metrics.json': METRICS, 'preprocess.json': PREPROCESS, 'artifact.json': REGRESSOR },
      { 'model.onnx': 'regressor-dynamic-width.onnx' },
    );
    const unchecked = await checkArtifact(dynamic);
    expect(unchecked.ok).toBe(true);
    expect(problems(unchecked)).toEqual([
      "warning artifact.json: the model's x has no fixed last dimension; its width 7 could not be checked | export with a fixed feature dimension (only the batch dimension dynamic)",
    ]);
  });

  it('an ONNX classifier with logits and labels over stacked raw features', async () => {
    const dir = await folder(
      { 'metrics.json': CLASS_METRICS, 'artifact.json': CLASSIFIER },
      { 'model.onnx': 'classifier-4x3.onnx' },
    );
    const check = await checkArtifact(dir);
    expect(problems(check)).toEqual([]);
    expect(describeArtifact(check)).toBe(
      'onnx classification model, 4 features, 3 labels, metrics val_accuracy 0.9 (baseline 0.34)',
    );
  });

  it('an ONNX model with one named input per feature, and a SavedModel for a serving container', async () => {
    const named = await folder(
      { 'metrics.json': METRICS, 'artifact.json': NAMED },
      { 'model.onnx': 'named-3.onnx' },
    );
    expect(problems(await checkArtifact(named))).toEqual([]);
    const saved = await folder({
      'metrics.json': METRICS,
      'artifact.json': {
        formatVersion: 1,
        format: 'savedmodel',
        task: 'regression',
        input: { kind: 'named' },
        features: NAMED.features,
      },
    });
    await mkdir(join(saved, 'saved_model/variables'), { recursive: true });
    await writeFile(join(saved, 'saved_model/saved_model.pb'), 'pb');
    expect(problems(await checkArtifact(saved))).toEqual([]);
  });

  it('valid reference statistics are accepted, inconsistent ones named', async () => {
    const statistics = {
      formatVersion: 1,
      rows: 80,
      features: {
        horsepower: numericStatistics(78, 2, [80, 100], [26, 26, 26]),
        weight: {
          type: 'categorical',
          count: 80,
          missing: 0,
          categories: { light: 40, heavy: 40 },
          other: 0,
        },
      },
      prediction: numericStatistics(20, 0, [20, 30], [5, 10, 5]),
    };
    const dir = await folder(
      { 'metrics.json': METRICS, 'artifact.json': NAMED, 'statistics.json': statistics },
      { 'model.onnx': 'named-3.onnx' },
    );
    const check = await checkArtifact(dir);
    expect(problems(check)).toEqual([]);
    expect(check.summary.statistics).toBe(true);

    const bad = structuredClone(statistics);
    Object.assign(bad.features, {
      horsepower: { ...statistics.features.horsepower, counts: [26, 26] },
      weight: { ...statistics.features.weight, categories: { light: 50, heavy: 40 } },
    });
    await writeFile(join(dir, 'statistics.json'), JSON.stringify(bad));
    expect(errors(await checkArtifact(dir))).toEqual([
      'statistics.json: features.horsepower.counts has 2 entries for 2 edges',
      'statistics.json: features.weight.categories plus other add up to 90, over count 80',
    ]);
    Object.assign(bad.features, {
      colour: { type: 'categorical', count: 80, missing: -1, categories: {}, other: 0 },
    });
    await writeFile(join(dir, 'statistics.json'), JSON.stringify(bad));
    expect(errors(await checkArtifact(dir))).toEqual([
      'statistics.json: features.colour.missing must be >= 0, got number -1',
    ]);
  });

  it('reads a gs:// artifact through the object store', async () => {
    const dir = await folder(
      { 'metrics.json': CLASS_METRICS, 'artifact.json': CLASSIFIER },
      { 'model.onnx': 'classifier-4x3.onnx' },
    );
    const objects = new Map<string, Buffer>();
    for (const name of ['metrics.json', 'artifact.json', 'model.onnx']) {
      objects.set(`gs://b/runs/7/model/${name}`, await readFile(join(dir, name)));
    }
    const store: ObjectStore = {
      read: async (uri) => objects.get(uri) ?? Promise.reject(new Error(`${uri}: not found`)),
      size: async (uri) => objects.get(uri)?.length ?? 0,
      write: () => Promise.reject(new Error('read only')),
      exists: async (uri) => objects.has(uri),
      list: async (prefix) => [...objects.keys()].filter((k) => k.startsWith(`${prefix}/`)),
      remove: () => Promise.reject(new Error('read only')),
    };
    setDefaultGcsStore(store);
    const check = await checkArtifact('gs://b/runs/7/model/');
    expect(problems(check)).toEqual([]);
    expect(check).toMatchObject({ ok: true, format: 'onnx', task: 'classification' });
  });
  afterEach(() => setDefaultGcsStore(undefined));
});

describe('artifacts that break it', () => {
  it('reports every problem at once, with the file, the field and a fix', async () => {
    const dir = await folder({
      'metrics.json': { formatVersion: 1, metrics: { val_mae: '1.2' } },
      'artifact.json': {
        formatVersion: 1,
        format: 'onnx',
        task: 'regression',
        input: { kind: 'stacked' },
        output: { kind: 'logits' },
      },
    });
    const check = await checkArtifact(dir);
    expect(check.ok).toBe(false);
    expect(problems(check)).toEqual([
      'error metrics.json: missing required field "baseline" in the document | see docs/artifact.md "metrics.json"',
      'error metrics.json: metrics.val_mae must be a number or null; got string "1.2" | see docs/artifact.md "metrics.json"',
      "error artifact.json: a regression model's output kind is value, not logits | set output.kind: value",
      'error artifact.json: input kind stacked needs features (the raw features clients send, in order) | add features: [{name, type}, ...]',
      'error artifact.json: model model.onnx is not in the artifact folder | write the onnx model to AIP_MODEL_DIR/model.onnx, or set model to where it is',
    ]);
    expect(check.diagnostics[1]).toMatchObject({ file: 'metrics.json', path: ['metrics', 'val_mae'] });
  });

  it('a folder with neither artifact.json nor the builtin files, and missing metrics', async () => {
    const dir = await folder({}, { 'model.onnx': 'regressor-7.onnx' });
    expect(errors(await checkArtifact(dir))).toEqual([
      'metrics.json: missing: every trainer writes its validation metrics and the baseline',
      "artifact.json: missing: nothing says the model's format and how features map to its inputs",
    ]);
    expect(errors(await checkArtifact(join(dir, 'nope')))).toEqual([`${join(dir, 'nope')} does not exist`]);
  });

  it('verifies the mapping against the ONNX graph', async () => {
    const narrow = {
      ...PREPROCESS,
      features: PREPROCESS.features.slice(1),
      encodedWidth: 6,
      inputShape: [6],
    };
    const cases: [Record<string, unknown>, string, string[]][] = [
      [
        { 'preprocess.json': narrow, 'artifact.json': REGRESSOR },
        'regressor-7.onnx',
        ["artifact.json: the model's x has width 7, but preprocess.json's encodedWidth is 6"],
      ],
      [
        { 'artifact.json': { ...CLASSIFIER, features: CLASSIFIER.features.slice(1) } },
        'classifier-4x3.onnx',
        ["artifact.json: the model's features has width 4, but the number of features is 3"],
      ],
      [
        { 'artifact.json': { ...CLASSIFIER, labels: ['a', 'b'] } },
        'classifier-4x3.onnx',
        ["artifact.json: the model's logits has width 3, but the number of labels is 2"],
      ],
      [
        {
          'artifact.json': {
            ...CLASSIFIER,
            task: 'classification',
            labels: undefined,
            output: { kind: 'probabilities', name: 'probs' },
          },
        },
        'classifier-4x3.onnx',
        [
          'artifact.json: a classifier needs its labels, in the order of the model output',
          'artifact.json: the model has no output probs (its outputs: logits)',
        ],
      ],
      [
        {
          'artifact.json': {
            ...CLASSIFIER,
            task: 'regression',
            output: { kind: 'value' },
            labels: undefined,
          },
        },
        'classifier-4x3.onnx',
        ["artifact.json: the model's logits has width 3, but a regression value is 1"],
      ],
      [
        {
          'artifact.json': {
            ...NAMED,
            features: [...NAMED.features.slice(0, 2), { name: 'model_year', type: 'numeric' }],
          },
        },
        'named-3.onnx',
        [
          'artifact.json: the model has no input model_year for feature model_year (its inputs: horsepower, weight, year)',
          "artifact.json: the model's input year is fed by no feature",
        ],
      ],
      [
        { 'artifact.json': { ...NAMED, input: { kind: 'stacked' } } },
        'named-3.onnx',
        ['artifact.json: input kind stacked feeds one input, but the model has 3 (horsepower, weight, year)'],
      ],
    ];
    for (const [files, model, expected] of cases) {
      const dir = await folder({ 'metrics.json': METRICS, ...files }, { 'model.onnx': model });
      expect(errors(await checkArtifact(dir)), JSON.stringify(files)).toEqual(expected);
    }
  });

  it('refuses files that lead outside the folder, unread', async () => {
    const secret = join(root, 'secret.json');
    await writeFile(secret, JSON.stringify({ token: 'do-not-print' }));
    const dir = await folder({
      'artifact.json': { ...REGRESSOR, model: 'm.onnx' },
      'preprocess.json': PREPROCESS,
    });
    await symlink(secret, join(dir, 'metrics.json'));
    await symlink(join(FIXTURES, 'regressor-7.onnx'), join(dir, 'm.onnx'));
    const check = await checkArtifact(dir);
    expect(errors(check)).toEqual([
      'metrics.json: leads outside the artifact folder (a symlink); it was not read',
      'm.onnx: leads outside the artifact folder (a symlink); it was not read',
    ]);
    expect(JSON.stringify(check)).not.toContain('do-not-print');
    // `..` in a declared path is a schema error, never a read.
    await rm(join(dir, 'metrics.json'));
    await writeFile(join(dir, 'metrics.json'), JSON.stringify(METRICS));
    await writeFile(join(dir, 'artifact.json'), JSON.stringify({ ...REGRESSOR, model: '../secret.json' }));
    expect(errors(await checkArtifact(dir))).toEqual([
      'artifact.json: model is not valid: string "../secret.json"',
    ]);
  });

  it('crafted ONNX files are refused quickly, without allocating for what they claim', async () => {
    const huge = Buffer.from([0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a, 0x00]); // graph: 4 GiB long
    // A graph input whose shape has 100,000 dimensions (rank limit 64).
    const dim = Buffer.from([0x0a, 0x02, 0x08, 0x01]); // Dimension {dim_value: 1}
    const shape = Buffer.concat(Array.from({ length: 100_000 }, () => dim)); // TensorShapeProto body
    const tensorType = lengthDelimited(
      1,
      Buffer.concat([Buffer.from([0x08, 0x01]), lengthDelimited(2, shape)]),
    );
    const valueInfo = Buffer.concat([lengthDelimited(1, Buffer.from('x')), lengthDelimited(2, tensorType)]);
    const deep = lengthDelimited(7, lengthDelimited(11, valueInfo));
    const cases: [Buffer, RegExp][] = [
      [Buffer.from('this is not protobuf at all, just text'), /model\.onnx: not an ONNX model/],
      [huge, /model\.onnx: not an ONNX model \(index out of range/],
      [Buffer.alloc(0), /model\.onnx: not an ONNX model: it has no graph/],
      [deep, /model\.onnx: x has rank 100000, over 64/],
    ];
    for (const [bytes, expected] of cases) {
      const dir = await folder({
        'metrics.json': METRICS,
        'preprocess.json': PREPROCESS,
        'artifact.json': REGRESSOR,
      });
      await writeFile(join(dir, 'model.onnx'), bytes);
      const before = process.memoryUsage().rss;
      const started = performance.now();
      const found = errors(await checkArtifact(dir));
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(process.memoryUsage().rss - before).toBeLessThan(256 * 2 ** 20);
      expect(found, found.join('\n')).toHaveLength(1);
      expect(found[0]).toMatch(expected);
    }
    // Over the weights limit: refused before it is read.
    const dir = await folder(
      { 'metrics.json': METRICS, 'preprocess.json': PREPROCESS, 'artifact.json': REGRESSOR },
      { 'model.onnx': 'regressor-7.onnx' },
    );
    expect(errors(await checkArtifact(dir, { env: { MLFORM_MAX_MODEL_BYTES: '100' } }))).toEqual([
      'model.onnx: model.onnx is 0.000 MiB, over the limit of 0.000 MiB',
    ]);
    expect(await localStore.exists(join(dir, 'model.onnx'))).toBe(true);
  });

  it('inconsistent preprocess.json and descriptor', async () => {
    const dir = await folder(
      {
        'metrics.json': METRICS,
        'preprocess.json': {
          ...PREPROCESS,
          encodedWidth: 9,
          inputShape: [9],
          features: [...PREPROCESS.features.slice(0, 5), { name: 'origin', type: 'numeric', mean: 1 }],
        },
        'artifact.json': { ...REGRESSOR, task: 'classification', output: { kind: 'value' } },
      },
      { 'model.onnx': 'regressor-7.onnx' },
    );
    expect(errors(await checkArtifact(dir))).toEqual([
      'preprocess.json: missing required field "std" in features[5]',
      'preprocess.json: missing required field "fill" in features[5]',
      "artifact.json: a classifier's output kind is logits or probabilities, not value",
      'artifact.json: a classifier needs its labels, in the order of the model output',
    ]);
  });
});

function varintOf(value: number): Buffer {
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** A length-delimited protobuf field. */
function lengthDelimited(field: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(field << 3) | 2]), varintOf(body.length), body]);
}
