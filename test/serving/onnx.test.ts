/**
 * ONNX versions in the model server, in process: the fixtures of test/fixtures/onnx (tiny PyTorch
 * models trained on cars and iris, exported with torch.onnx) answer v1 and v2 requests with the
 * predictions PyTorch itself gave for the same rows, through every input kind (encoded, stacked,
 * named) and output kind (value, logits, probabilities); the strict input checks hold; concurrent
 * requests share one session.run; a tfjs and an onnx version split traffic in one endpoint.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../../serving/index.js';
import {
  call,
  expectClose,
  inProcess,
  instanceOf,
  metricValue,
  predict,
  startServer,
  tempDir,
  trainArtifact,
  type TinyArtifact,
} from './helpers.js';
import { ONNX_FIXTURES, expectNear, expectedOf } from './onnx-fixtures.js';

const FIXTURES = ['cars-encoded', 'cars-stacked', 'cars-named', 'iris-logits', 'iris-probabilities'] as const;
type Fixture = (typeof FIXTURES)[number];

const servers = new Map<Fixture, { server: ModelServer; url: string }>();

beforeAll(async () => {
  await Promise.all(
    FIXTURES.map(async (fixture) => {
      servers.set(
        fixture,
        await startServer({ name: 'm', versions: [{ version: 1, uri: join(ONNX_FIXTURES, fixture) }] }),
      );
    }),
  );
});

afterAll(async () => {
  await Promise.all([...servers.values()].map((s) => s.server.shutdown()));
});

const urlOf = (fixture: Fixture): string => servers.get(fixture)!.url;

const V2_TYPE: Record<string, string> = { number: 'FP64', boolean: 'BOOL', string: 'BYTES' };

/** The instances as v2 tensors, one per feature, [N] (the datatype from the JSON values). */
function tensorsOf(instances: Record<string, unknown>[]) {
  return Object.keys(instances[0]).map((name) => ({
    name,
    shape: [instances.length],
    datatype: V2_TYPE[typeof instances.find((i) => i[name] !== null)![name]],
    data: instances.map((i) => i[name]),
  }));
}

describe('ONNX versions', () => {
  it.each(FIXTURES)('%s: v1 instances and columnar inputs answer what PyTorch computed', async (fixture) => {
    const { instances, predictions } = expectedOf(fixture);
    const answer = await predict(urlOf(fixture), 'm', { instances });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.headers.get('x-model-version')).toBe('1');
    expectNear(answer.json.predictions, predictions);

    const columns: Record<string, unknown[]> = {};
    for (const name of Object.keys(instances[0])) columns[name] = instances.map((i) => i[name]);
    const columnar = await predict(urlOf(fixture), 'm', { inputs: columns });
    expect(columnar.status, columnar.text).toBe(200);
    const outputs = columnar.json.outputs as
      number[] | { label: string[]; probabilities: Record<string, number>[] };
    if (typeof predictions[0] === 'number') expectNear(outputs, predictions);
    else {
      const o = outputs as { label: string[]; probabilities: Record<string, number>[] };
      expectNear(
        o.label.map((label, i) => ({ label, probabilities: o.probabilities[i] })),
        predictions,
      );
    }
  });

  it.each(FIXTURES.filter((f) => f !== 'cars-encoded'))(
    '%s: v2 infer answers the same predictions as tensors',
    async (fixture) => {
      const { instances, predictions } = expectedOf(fixture);
      const answer = await call(`${urlOf(fixture)}/v2/models/m/infer`, {
        body: JSON.stringify({ id: 'r1', inputs: tensorsOf(instances) }),
      });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.json).toMatchObject({ model_name: 'm', model_version: '1', id: 'r1' });
      const outputs = answer.json.outputs as { name: string; shape: number[]; data: unknown[] }[];
      if (typeof predictions[0] === 'number') {
        expect(outputs).toHaveLength(1);
        expect(outputs[0]).toMatchObject({ name: 'Miles_per_Gallon', shape: [instances.length] });
        expectNear(outputs[0].data, predictions);
      } else {
        const [label, probabilities] = outputs;
        expect(label.name).toBe('label');
        expect(probabilities.shape).toEqual([instances.length, 3]);
        const labels = ['setosa', 'versicolor', 'virginica'];
        expectNear(
          label.data.map((l, i) => ({
            label: l as string,
            probabilities: Object.fromEntries(
              labels.map((name, j) => [name, probabilities.data[i * 3 + j] as number]),
            ),
          })),
          predictions,
        );
      }
    },
  );

  it('encoded: a null takes the fill value of preprocess.json, as in training', async () => {
    // The fixture's second instance sends Horsepower: null; PyTorch got the median for it.
    const { instances, predictions } = expectedOf('cars-encoded');
    expect(instances[1].Horsepower).toBeNull();
    const answer = await predict(urlOf('cars-encoded'), 'm', { instances: [instances[1]] });
    expectNear(answer.json.predictions, [predictions[1]]);
  });

  it('metadata: platform onnxruntime_onnx, the declared features, the model inputs (v1 and v2)', async () => {
    const v1 = await call(`${urlOf('cars-named')}/v1/models/m/metadata`);
    expect(v1.status).toBe(200);
    const mlform = v1.json.mlform as Record<string, unknown>;
    expect(mlform).toMatchObject({
      task: 'regression',
      platform: 'onnxruntime_onnx',
      features: [
        { name: 'Horsepower', type: 'numeric' },
        { name: 'Weight_in_lbs', type: 'numeric' },
        { name: 'Cylinders', type: 'numeric' },
        { name: 'american', type: 'boolean' },
      ],
      target: { name: 'Miles_per_Gallon' },
      onnx: {
        inputKind: 'named',
        outputKind: 'value',
        output: 'mpg',
        inputs: [
          { name: 'horsepower', type: 'float32', shape: ['n', 1] },
          { name: 'weight', type: 'float64', shape: ['n'] },
          { name: 'cylinders', type: 'int64', shape: ['n'] },
          { name: 'american', type: 'bool', shape: ['n'] },
        ],
      },
    });
    // Raw kinds have no fill value to show.
    expect((mlform.features as Record<string, unknown>[])[0]).not.toHaveProperty('fill');
    const v2 = await call(`${urlOf('iris-logits')}/v2/models/m`);
    expect(v2.json).toMatchObject({
      name: 'm',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
      ],
    });
    const encoded = await call(`${urlOf('cars-encoded')}/v1/models/m/metadata`);
    expect((encoded.json.mlform as { features: Record<string, unknown>[] }).features[0]).toHaveProperty(
      'fill',
    );
  });
});

describe('ONNX input checks', () => {
  const car = { Horsepower: 130, Weight_in_lbs: 3504, Cylinders: 8, american: true };

  it('refuses a missing value for raw kinds (no fill value declared), a left-out feature, a wrong type, an unknown feature', async () => {
    const url = urlOf('cars-named');
    const nulled = await predict(url, 'm', { instances: [car, { ...car, Horsepower: null }] });
    expect(nulled.status).toBe(400);
    expect(nulled.json.error).toBe(
      'instances[1].Horsepower: required (the ONNX artifact declares no fill value; send a value); got a missing value',
    );
    const { Cylinders: _, ...withoutCylinders } = car;
    const left = await predict(url, 'm', { instances: [withoutCylinders] });
    expect(left.status).toBe(400);
    expect(left.json.error).toContain('instances[0].Cylinders: required');
    const typed = await predict(url, 'm', { instances: [{ ...car, Horsepower: 'fast' }] });
    expect(typed.status).toBe(400);
    expect(typed.json.error).toContain('instances[0].Horsepower: expected a number, got string "fast"');
    const unknown = await predict(url, 'm', { instances: [{ ...car, Horsepowr: 1 }] });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toContain('Horsepowr');
    expect(unknown.json.error).toContain('Horsepower');
    const bool = await predict(url, 'm', { instances: [{ ...car, american: 'maybe' }] });
    expect(bool.status).toBe(400);
    expect(bool.json.error).toContain('instances[0].american: expected a boolean');
  });

  it('refuses a fraction for an integer model input, naming it', async () => {
    const answer = await predict(urlOf('cars-named'), 'm', { instances: [car, { ...car, Cylinders: 4.5 }] });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toBe(
      'instances[1].Cylinders: expected an integer (model input "cylinders" is int64), got 4.5',
    );
  });

  it('v2: a null element of a raw-kind input is a 400 naming the element', async () => {
    const { instances } = expectedOf('cars-stacked');
    const inputs = tensorsOf(instances.slice(0, 2));
    inputs[2].data[1] = null;
    const answer = await call(`${urlOf('cars-stacked')}/v2/models/m/infer`, {
      body: JSON.stringify({ inputs }),
    });
    expect(answer.status, answer.text).toBe(400);
    expect(answer.json.error).toBe(
      'inputs[2].data[1]: required (the ONNX artifact declares no fill value; send a value); got a missing value',
    );
  });
});

describe('ONNX batching and versions', () => {
  it('concurrent requests share one session.run', async () => {
    const url = urlOf('iris-logits');
    const { instances, predictions } = expectedOf('iris-logits');
    const before = await call(`${url}/metrics`);
    const batchesBefore = metricValue(before.text, 'mlform_serving_batch_size_count') ?? 0;
    const answers = await Promise.all(
      instances.map((instance) => predict(url, 'm', { instances: [instance] })),
    );
    answers.forEach((a, i) => expectNear(a.json.predictions, [predictions[i]]));
    const after = await call(`${url}/metrics`);
    const batches = (metricValue(after.text, 'mlform_serving_batch_size_count') ?? 0) - batchesBefore;
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBeLessThan(instances.length);
  });

  describe('a tfjs and an onnx version in one endpoint', () => {
    let dir: { path: string; remove(): Promise<void> };
    let tfjs: TinyArtifact;
    let served: { server: ModelServer; url: string };

    beforeAll(async () => {
      dir = await tempDir();
      tfjs = await trainArtifact('cars', join(dir.path, 'tfjs'));
      served = await startServer({
        name: 'mpg',
        versions: [
          { version: 1, uri: tfjs.dir, percent: 50 },
          { version: 2, uri: join(ONNX_FIXTURES, 'cars-stacked'), percent: 50 },
        ],
      });
    });

    afterAll(async () => {
      await served?.server.shutdown();
      await dir?.remove();
    });

    it('splits traffic between them, each answering its own predictions, pinned routes too', async () => {
      const { instances, predictions } = expectedOf('cars-stacked');
      // Instances both versions accept: the tfjs model's features, with the stacked model's values.
      const tfjsInstances = tfjs.rows
        .slice(0, 3)
        .map((row) => instanceOf(tfjs, row) as Record<string, unknown>);
      const seen: string[] = [];
      for (let i = 0; i < 4; i++) {
        const answer = await predict(served.url, 'mpg', { instances: [instances[0]] });
        if (answer.status === 200) {
          seen.push(answer.headers.get('x-model-version')!);
          expectNear(answer.json.predictions, [predictions[0]]);
        } else {
          // The tfjs version was trained on more features (Year, Origin) and says so.
          expect(answer.json.error).toContain('instances[0].Year: required');
          seen.push('1');
        }
      }
      expect(seen.sort()).toEqual(['1', '1', '2', '2']);
      const pinned = await predict(served.url, 'mpg', { instances: tfjsInstances }, 1);
      expect(pinned.status, pinned.text).toBe(200);
      expectClose(pinned.json.predictions, inProcess(tfjs, tfjsInstances));
      const onnx = await predict(served.url, 'mpg', { instances }, 2);
      expectNear(onnx.json.predictions, predictions);
      const v2 = await call(`${served.url}/v2/models/mpg/versions/1`);
      expect(v2.json.platform).toBe('mlform_tfjs');
      const v2onnx = await call(`${served.url}/v2/models/mpg/versions/2`);
      expect(v2onnx.json.platform).toBe('onnxruntime_onnx');
    });
  });
});
