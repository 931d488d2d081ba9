/**
 * End to end in process: train tiny models (cars regression, iris classification), save the
 * artifacts, serve them over HTTP and compare every served prediction with the trainer's
 * in-process prediction for the same raw instances.
 */
import { describe, expect, it } from 'vitest';
import { call, expectClose, inProcess, instanceOf, predict, serveCarsAndIris } from './helpers.js';

const served = serveCarsAndIris();

describe('regression (cars)', () => {
  it('answers the in-process prediction for every row of the data set, in original units', async () => {
    // Rows with real missing values (Horsepower null) are in here too: they are filled as in training.
    const instances = served.cars.rows.map((row) => instanceOf(served.cars, row));
    expect(instances.some((i) => i.Horsepower === null)).toBe(true);
    const expected = inProcess(served.cars, instances);
    for (let start = 0; start < instances.length; start += 100) {
      const slice = instances.slice(start, start + 100);
      const answer = await predict(served.carsServer.url, 'mpg', { instances: slice });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-model-version')).toBe('1');
      expectClose(answer.json.predictions, expected.slice(start, start + 100));
    }
    // Original units: miles per gallon, not standardised values.
    const mean = expected.reduce((s: number, p) => s + (p as number), 0) / expected.length;
    expect(mean).toBeGreaterThan(5);
  });

  it('answers a single instance the same as inside a batch', async () => {
    const instance = instanceOf(served.cars, served.cars.rows[7]);
    const answer = await predict(served.carsServer.url, 'mpg', { instances: [instance] });
    expectClose(answer.json.predictions, inProcess(served.cars, [instance]));
  });

  it('reads the columnar format and answers `outputs`', async () => {
    const rows = served.cars.rows.slice(0, 5).map((row) => instanceOf(served.cars, row));
    const inputs: Record<string, unknown[]> = {};
    for (const name of served.cars.features) inputs[name] = rows.map((r) => r[name]);
    const answer = await predict(served.carsServer.url, 'mpg', { inputs });
    expect(answer.status).toBe(200);
    expectClose(answer.json.outputs, inProcess(served.cars, rows));
  });

  it('fills features sent as null or a missing marker with the training fill values (documented policy)', async () => {
    const allMissing = Object.fromEntries(served.cars.features.map((name) => [name, null]));
    const some = { ...instanceOf(served.cars, served.cars.rows[2]), Horsepower: null, Origin: 'NA' };
    const answer = await predict(served.carsServer.url, 'mpg', { instances: [allMissing, some] });
    expect(answer.status).toBe(200);
    // In process, an absent feature is the same missing cell training saw.
    expectClose(
      answer.json.predictions,
      inProcess(served.cars, [{}, { ...some, Horsepower: undefined, Origin: undefined }]),
    );
  });

  it('refuses an instance that leaves a feature out, naming it (row and columnar)', async () => {
    const { Horsepower: _left, ...partial } = instanceOf(served.cars, served.cars.rows[2]);
    const rows = await predict(served.carsServer.url, 'mpg', {
      instances: [instanceOf(served.cars, served.cars.rows[1]), partial],
    });
    expect(rows.status).toBe(400);
    expect(rows.json.error).toContain('instances[1].Horsepower: required: send a value, or null');
    const inputs: Record<string, unknown[]> = {};
    for (const name of served.cars.features) if (name !== 'Horsepower') inputs[name] = [partial[name]];
    const columns = await predict(served.carsServer.url, 'mpg', { inputs }, 1);
    expect(columns.status).toBe(400);
    expect(columns.json.error).toContain('inputs.Horsepower[0]: required');
  });

  it('accepts signature_name serving_default and the version-pinned route', async () => {
    const instance = instanceOf(served.cars, served.cars.rows[3]);
    const answer = await predict(
      served.carsServer.url,
      'mpg',
      { signature_name: 'serving_default', instances: [instance] },
      1,
    );
    expect(answer.status).toBe(200);
    expectClose(answer.json.predictions, inProcess(served.cars, [instance]));
  });

  it('reports version status and metadata in TensorFlow Serving shapes', async () => {
    const status = await call(`${served.carsServer.url}/v1/models/mpg`);
    expect(status.json).toEqual({
      model_version_status: [
        { version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
      ],
    });
    const metadata = await call(`${served.carsServer.url}/v1/models/mpg/metadata`);
    expect(metadata.status).toBe(200);
    const spec = metadata.json.model_spec as Record<string, unknown>;
    expect(spec).toEqual({ name: 'mpg', signature_name: '', version: '1' });
    const signature = (
      metadata.json.metadata as {
        signature_def: { signature_def: Record<string, { inputs: Record<string, { dtype: string }> }> };
      }
    ).signature_def.signature_def.serving_default;
    expect(signature.inputs.Horsepower.dtype).toBe('DT_FLOAT');
    expect(signature.inputs.Origin.dtype).toBe('DT_STRING');
    const mlform = metadata.json.mlform as {
      task: string;
      features: { name: string; vocabulary?: string[] }[];
    };
    expect(mlform.task).toBe('regression');
    expect(mlform.features.find((f) => f.name === 'Origin')?.vocabulary?.sort()).toEqual([
      'Europe',
      'Japan',
      'USA',
    ]);
  });
});

describe('classification (iris)', () => {
  it('answers class labels with probabilities equal to the in-process ones', async () => {
    const instances = served.iris.rows.map((row) => instanceOf(served.iris, row));
    const answer = await predict(served.irisServer.url, 'iris', { instances });
    expect(answer.status).toBe(200);
    const expected = inProcess(served.iris, instances);
    expectClose(answer.json.predictions, expected);
    const first = (answer.json.predictions as { label: string; probabilities: Record<string, number> }[])[0];
    expect(Object.keys(first.probabilities).sort()).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(Object.values(first.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it('answers columnar classification as {label: [...], probabilities: [...]}', async () => {
    const rows = served.iris.rows.slice(0, 3).map((row) => instanceOf(served.iris, row));
    const inputs: Record<string, unknown[]> = {};
    for (const name of served.iris.features) inputs[name] = rows.map((r) => r[name]);
    const answer = await predict(served.irisServer.url, 'iris', { inputs });
    const outputs = answer.json.outputs as { label: string[]; probabilities: Record<string, number>[] };
    const expected = inProcess(served.iris, rows) as {
      label: string;
      probabilities: Record<string, number>;
    }[];
    expect(outputs.label).toEqual(expected.map((p) => p.label));
    expectClose(
      outputs.label.map((label, i) => ({ label, probabilities: outputs.probabilities[i] })),
      expected,
    );
  });
});
