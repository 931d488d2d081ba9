import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../artifact/tfjs-backend.js';
import { joinWeightData, loadModel, saveModel, storeIOHandler } from '../../artifact/model-io.js';
import { buildNetwork } from '../../trainer/network/build-network.js';
import { setDefaultGcsStore, toFileUri, type ObjectStore } from '../../artifact/storage.js';

let dir: string;

beforeAll(async () => {
  await selectBackend({ acceleratorRequested: false, env: { MLFORM_BACKEND: 'wasm' } });
  dir = await mkdtemp(join(tmpdir(), 'mlform-model-io-'));
});
afterAll(async () => {
  setDefaultGcsStore(undefined);
  await rm(dir, { recursive: true, force: true });
});

const predictions = (model: tf.LayersModel, x: tf.Tensor): number[] =>
  Array.from((model.predict(x) as tf.Tensor).dataSync());

describe('saveModel / loadModel', () => {
  it.each([
    [
      'mlp with dropout',
      { type: 'mlp', layers: [8, 4], activation: 'tanh', dropout: 0.3 },
      [6],
      3,
      'classification',
    ],
    ['lstm', { type: 'lstm', layers: [5, 3], activation: 'relu', dropout: 0 }, [4, 2], 1, 'forecasting'],
  ] as const)(
    'round-trips a %s with identical predictions',
    async (name, network, inputShape, targetSize, task) => {
      const model = buildNetwork({
        network: { ...network, layers: [...network.layers] },
        inputShape: [...inputShape],
        targetSize,
        task,
        seed: 9,
      });
      const target = join(dir, name.replace(/ /g, '-'));
      await saveModel(model, target);
      const loaded = await loadModel(target);
      const x = tf.randomNormal([5, ...inputShape], 0, 1, 'float32', 3);
      expect(predictions(loaded, x)).toEqual(predictions(model, x));
      expect(loaded.layers.map((l) => l.getClassName())).toEqual(model.layers.map((l) => l.getClassName()));
      expect((await readdir(target)).sort()).toEqual(['model.json', 'weights.bin']);
    },
  );

  it('writes the standard layers-model format', async () => {
    const model = buildNetwork({
      network: { type: 'mlp', layers: [3], activation: 'relu', dropout: 0 },
      inputShape: [2],
      targetSize: 1,
      task: 'regression',
      seed: 1,
    });
    const target = join(dir, 'format');
    await saveModel(model, toFileUri(target));
    const json = JSON.parse(await readFile(join(target, 'model.json'), 'utf8')) as Record<string, unknown>;
    expect(json.format).toBe('layers-model');
    expect(json.generatedBy).toMatch(/^TensorFlow\.js tfjs-layers v4\./);
    expect(json.modelTopology).toMatchObject({ class_name: 'Sequential' });
    expect(json.weightsManifest).toEqual([
      {
        paths: ['weights.bin'],
        weights: [
          { name: 'dense_1/kernel', shape: [2, 3], dtype: 'float32' },
          { name: 'dense_1/bias', shape: [3], dtype: 'float32' },
          { name: 'output/kernel', shape: [3, 1], dtype: 'float32' },
          { name: 'output/bias', shape: [1], dtype: 'float32' },
        ],
      },
    ]);
    expect((await readFile(join(target, 'weights.bin'))).byteLength).toBe((6 + 3 + 3 + 1) * 4);
  });

  it('joins weight data handed over as a list of buffers', async () => {
    expect(
      Array.from(new Uint8Array(joinWeightData([new Uint8Array([1, 2]).buffer, new Uint8Array([3]).buffer]))),
    ).toEqual([1, 2, 3]);
    const target = join(dir, 'sharded');
    const handler = storeIOHandler(target);
    const a = new Float32Array([1, 2, 3]);
    const b = new Float32Array([4, 5]);
    await handler.save?.({
      // A Dense layer of 4 inputs and 1 unit: 4 + 1 parameters, as the weights declare.
      modelTopology: {
        class_name: 'Sequential',
        config: { layers: [{ class_name: 'Dense', config: { units: 1, batch_input_shape: [null, 4] } }] },
      },
      format: 'layers-model',
      weightSpecs: [
        { name: 'a', shape: [3], dtype: 'float32' },
        { name: 'b', shape: [2], dtype: 'float32' },
      ],
      weightData: [a.buffer, b.buffer],
    });
    expect(
      Array.from(new Float32Array((await readFile(join(target, 'weights.bin'))).buffer.slice(0))),
    ).toEqual([1, 2, 3, 4, 5]);
    const artifacts = await handler.load?.();
    expect(artifacts?.weightSpecs?.map((s) => s.name)).toEqual(['a', 'b']);
    expect(Array.from(new Float32Array(joinWeightData(artifacts?.weightData ?? [])))).toEqual([
      1, 2, 3, 4, 5,
    ]);
  });

  it('saves to and loads from gs:// through the object store', async () => {
    const objects = new Map<string, Uint8Array>();
    const memory: ObjectStore = {
      read: async (uri) => {
        const data = objects.get(uri);
        if (!data) throw new Error(`no ${uri}`);
        return Buffer.from(data);
      },
      write: async (uri, data) => void objects.set(uri, typeof data === 'string' ? Buffer.from(data) : data),
      exists: async (uri) => objects.has(uri),
      list: async (prefix) => [...objects.keys()].filter((k) => k.startsWith(prefix)),
      remove: async (uri) => void objects.delete(uri),
    };
    setDefaultGcsStore(memory);
    const model = buildNetwork({
      network: { type: 'gru', layers: [3], activation: 'relu', dropout: 0 },
      inputShape: [2, 2],
      targetSize: 1,
      task: 'forecasting',
      seed: 2,
    });
    await saveModel(model, 'gs://bucket/runs/r1/model');
    expect([...objects.keys()].sort()).toEqual([
      'gs://bucket/runs/r1/model/model.json',
      'gs://bucket/runs/r1/model/weights.bin',
    ]);
    const loaded = await loadModel('gs://bucket/runs/r1/model');
    const x = tf.ones([1, 2, 2]);
    expect(predictions(loaded, x)).toEqual(predictions(model, x));
  });

  it('refuses a model.json that is not a layers model or escapes its directory', async () => {
    const objects = new Map<string, string>([
      ['gs://b/bad/model.json', JSON.stringify({ hello: 1 })],
      [
        'gs://b/evil/model.json',
        JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['../x.bin'], weights: [] }] }),
      ],
    ]);
    setDefaultGcsStore({
      read: async (uri) => Buffer.from(objects.get(uri) ?? ''),
      write: async () => undefined,
      exists: async (uri) => objects.has(uri),
      list: async () => [],
      remove: async () => undefined,
    });
    await expect(loadModel('gs://b/bad')).rejects.toThrow('is not a TensorFlow.js layers model');
    await expect(loadModel('gs://b/evil')).rejects.toThrow('needs relative paths');
  });
});
