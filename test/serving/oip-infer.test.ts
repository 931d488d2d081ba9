/**
 * Open Inference Protocol (KServe v2) inference and metadata, end to end in process: KServe-style
 * tensor requests against tiny trained models answer exactly what v1 `:predict` answers for the
 * same rows, and bad tensors get a 400 naming the input and element at fault.
 */
import { describe, expect, it } from 'vitest';
import { inferErrors, readInferRequest } from '../../serving/oip-infer.js';
import type { Preprocess } from '../../trainer/types.js';
import {
  call,
  expectClose,
  inProcess,
  instanceOf,
  metricValue,
  predict,
  startServer,
  type TinyArtifact,
  serveCarsAndIris,
} from './helpers.js';

const served = serveCarsAndIris();

/** Rows -> one v2 input tensor per feature, as a KServe client builds them. */
function tensors(artifact: TinyArtifact, rows: Record<string, unknown>[]) {
  return artifact.preprocess.features.map((f) => ({
    name: f.name,
    shape: [rows.length],
    datatype: f.type === 'numeric' ? 'FP32' : f.type === 'boolean' ? 'BOOL' : 'BYTES',
    data: rows.map((r) => r[f.name] ?? null),
  }));
}

const infer = (url: string, path: string, body: unknown) =>
  call(`${url}/v2/models/${path}/infer`, { body: JSON.stringify(body) });

describe('POST /v2/models/{m}/infer', () => {
  it('answers a regression tensor request with the same numbers as v1 :predict and the trainer', async () => {
    const rows = served.cars.rows
      .slice(0, 40)
      .map((row) => instanceOf(served.cars, row) as Record<string, unknown>);
    const answer = await infer(served.carsServer.url, 'mpg', {
      id: 'req-1',
      inputs: tensors(served.cars, rows),
    });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ model_name: 'mpg', model_version: '1', id: 'req-1' });
    const outputs = answer.json.outputs as {
      name: string;
      datatype: string;
      shape: number[];
      data: number[];
    }[];
    expect(outputs).toHaveLength(1);
    expect(outputs[0]).toMatchObject({
      name: served.cars.preprocess.target.name,
      datatype: 'FP32',
      shape: [40],
    });
    expectClose(outputs[0].data, inProcess(served.cars, rows));
    const v1 = await predict(served.carsServer.url, 'mpg', { instances: rows });
    expect(outputs[0].data).toEqual(v1.json.predictions);
  });

  it('reads [N, 1] shapes with nested data, nulls filled as in training, and a versioned path', async () => {
    const rows = served.cars.rows
      .slice(0, 5)
      .map((row) => instanceOf(served.cars, row) as Record<string, unknown>);
    rows[2] = { ...rows[2], Horsepower: null };
    const inputs = tensors(served.cars, rows).map((t) => ({
      ...t,
      shape: [5, 1],
      data: t.data.map((v) => [v]),
    }));
    const answer = await infer(served.carsServer.url, 'mpg/versions/1', { inputs });
    expect(answer.status).toBe(200);
    expectClose((answer.json.outputs as { data: number[] }[])[0].data, inProcess(served.cars, rows));
  });

  it('answers a classification request with label and probabilities tensors, and only the outputs asked for', async () => {
    const rows = served.iris.rows
      .slice(0, 12)
      .map((row) => instanceOf(served.iris, row) as Record<string, unknown>);
    const expected = inProcess(served.iris, rows) as {
      label: string;
      probabilities: Record<string, number>;
    }[];
    const labels = served.iris.preprocess.target.type === 'label' ? served.iris.preprocess.target.labels : [];
    const answer = await infer(served.irisServer.url, 'iris', { inputs: tensors(served.iris, rows) });
    expect(answer.status).toBe(200);
    const [label, probabilities] = answer.json.outputs as {
      name: string;
      shape: number[];
      data: unknown[];
    }[];
    expect(label).toMatchObject({ name: 'label', datatype: 'BYTES', shape: [12] });
    expect(label.data).toEqual(expected.map((p) => p.label));
    expect(probabilities).toMatchObject({
      name: 'probabilities',
      datatype: 'FP32',
      shape: [12, labels.length],
    });
    const flat = expected.flatMap((p) => labels.map((l) => p.probabilities[l]));
    (probabilities.data as number[]).forEach((p, i) => expect(p).toBeCloseTo(flat[i], 6));

    const onlyLabel = await infer(served.irisServer.url, 'iris', {
      inputs: tensors(served.iris, rows),
      outputs: [{ name: 'label' }],
    });
    expect((onlyLabel.json.outputs as { name: string }[]).map((o) => o.name)).toEqual(['label']);
  });

  it('refuses bad tensors with a 400 naming the input and element', async () => {
    const rows = served.cars.rows
      .slice(0, 3)
      .map((row) => instanceOf(served.cars, row) as Record<string, unknown>);
    const good = tensors(served.cars, rows);
    const numeric = good.findIndex((t) => t.datatype === 'FP32');
    const categorical = good.findIndex((t) => t.datatype === 'BYTES');

    const wrongType = good.map((t, i) =>
      i === numeric ? { ...t, data: [t.data[0], 'fast', t.data[2]] } : t,
    );
    let answer = await infer(served.carsServer.url, 'mpg', { inputs: wrongType });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatch(
      new RegExp(`^inputs\\[${numeric}\\]\\.data\\[1\\]: a FP32 tensor holds numbers`),
    );

    // A string that is not a known category is the encoder's call, reported at its element.
    const unknownCategory = good.map((t, i) =>
      i === categorical ? { ...t, data: [t.data[0], t.data[1], 'Atlantis'] } : t,
    );
    answer = await infer(served.carsServer.url, 'mpg', { inputs: unknownCategory });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toContain(`inputs[${categorical}].data[2]`);

    const misspelt = good.map((t, i) => (i === numeric ? { ...t, name: `${t.name}x` } : t));
    answer = await infer(served.carsServer.url, 'mpg', { inputs: misspelt });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatch(/is not an input of this model \(did you mean/);

    const short = good.map((t, i) => (i === numeric ? { ...t, data: t.data.slice(0, 2) } : t));
    answer = await infer(served.carsServer.url, 'mpg', { inputs: short });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toContain(`inputs[${numeric}].data: 2 values for shape [3]`);

    const missing = good.filter((_, i) => i !== numeric);
    answer = await infer(served.carsServer.url, 'mpg', { inputs: missing });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toContain(good[numeric].name);

    answer = await call(`${served.carsServer.url}/v2/models/mpg/infer`);
    expect(answer.status).toBe(405);
    answer = await infer(served.carsServer.url, 'nope', { inputs: good });
    expect(answer.status).toBe(404);
  });

  it('shares the batcher with v1: concurrent v1 and v2 requests coalesce, each answered with its own rows', async () => {
    const batched = await startServer({
      name: 'mpg',
      versions: [{ version: 1, uri: served.cars.dir }],
      batching: { maxBatchSize: 64, batchTimeoutMicros: 200_000 },
    });
    try {
      const requests = Array.from({ length: 20 }, (_, i) =>
        served.cars.rows
          .slice(i * 2, i * 2 + 1 + (i % 2))
          .map((row) => instanceOf(served.cars, row) as Record<string, unknown>),
      );
      const answers = await Promise.all(
        requests.map((rows, i) =>
          i % 2 === 0
            ? infer(batched.url, 'mpg', { inputs: tensors(served.cars, rows) }).then(
                (a) => (a.json.outputs as { data: number[] }[])[0].data,
              )
            : predict(batched.url, 'mpg', { instances: rows }).then((a) => a.json.predictions),
        ),
      );
      answers.forEach((answer, i) => expectClose(answer, inProcess(served.cars, requests[i])));
      const metrics = (await call(`${batched.url}/metrics`)).text;
      // 20 requests in fewer model calls: v2 requests joined batches with v1 ones.
      expect(metricValue(metrics, 'mlform_serving_batch_requests_sum', { version: '1' })).toBe(20);
      expect(metricValue(metrics, 'mlform_serving_batch_size_count', { version: '1' })).toBeLessThan(20);
    } finally {
      await batched.server.shutdown();
    }
  });

  it('serves v2 model metadata: name, versions, inputs per feature, outputs', async () => {
    const answer = await call(`${served.irisServer.url}/v2/models/iris`);
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ name: 'iris', versions: ['1'] });
    expect((answer.json.inputs as { name: string }[]).map((i) => i.name)).toEqual(
      served.iris.preprocess.features.map((f) => f.name),
    );
    expect((answer.json.outputs as { name: string }[]).map((o) => o.name)).toEqual([
      'label',
      'probabilities',
    ]);
    const versioned = await call(`${served.irisServer.url}/v2/models/iris/versions/1`);
    expect(versioned.json).toEqual(answer.json);
  });
});

describe('forecasting tensors', () => {
  const preprocess = {
    task: 'forecasting',
    features: [{ name: 'temp', type: 'numeric' }],
    target: { name: 'load', type: 'numeric' },
    window: { size: 2, horizon: 1, timeColumn: 't' },
  } as unknown as Preprocess;

  it('reads [N, L] tensors as N histories of L rows, oldest first, and maps errors back to elements', () => {
    const request = readInferRequest(
      {
        inputs: [
          { name: 'temp', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] },
          { name: 'load', shape: [2, 3], datatype: 'FP64', data: [10, 20, 30, 40, 50, 60] },
        ],
      },
      preprocess,
      100,
    );
    expect(request.instances).toEqual([
      {
        history: [
          { temp: 1, load: 10 },
          { temp: 2, load: 20 },
          { temp: 3, load: 30 },
        ],
      },
      {
        history: [
          { temp: 4, load: 40 },
          { temp: 5, load: 50 },
          { temp: 6, load: 60 },
        ],
      },
    ]);
    const error = inferErrors(request, [{ index: 1, field: 'history[2].load', message: 'not a number' }]);
    expect(error.message).toBe('inputs[1].data[5]: not a number');
    expect(() =>
      readInferRequest(
        { inputs: [{ name: 'temp', shape: [2], datatype: 'FP32', data: [1, 2] }] },
        preprocess,
        100,
      ),
    ).toThrow(/a forecasting input is \[instances, history rows\]/);
  });
});
