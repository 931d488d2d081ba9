/**
 * Hostile and mistaken requests: each gets its exact 4xx and a message naming the field at fault,
 * and the server keeps answering good requests afterwards.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../../serving/index.js';
import {
  call,
  expectClose,
  inProcess,
  instanceOf,
  metricValue,
  startServer,
  tempDir,
  trainArtifact,
  type TinyArtifact,
} from './helpers.js';

let dir: { path: string; remove(): Promise<void> };
let cars: TinyArtifact;
let byDefault: { server: ModelServer; url: string };
let strict: { server: ModelServer; url: string };
let good: Record<string, unknown>;

beforeAll(async () => {
  dir = await tempDir();
  cars = await trainArtifact('cars', dir.path);
  good = instanceOf(cars, cars.rows[0]);
  byDefault = await startServer({ name: 'mpg', versions: [{ version: 1, uri: cars.dir }] });
  strict = await startServer({
    name: 'mpg',
    versions: [{ version: 1, uri: cars.dir }],
    limits: { missingFeatures: 'error', maxBodyBytes: 64 * 1024 },
  });
});

afterAll(async () => {
  await byDefault?.server.shutdown();
  await strict?.server.shutdown();
  await dir?.remove();
});

interface Case {
  name: string;
  /** Default: POST to /v1/models/mpg:predict with content-type application/json. */
  path?: string;
  method?: string;
  body?: string | Buffer | (() => string | Buffer);
  contentType?: string | null;
  strict?: boolean;
  status: number;
  /** Substrings the `error` message must contain. */
  says: string[];
}

const predictPath = '/v1/models/mpg:predict';
const body = (value: unknown): string => JSON.stringify(value);
const withGood = (extra: Record<string, unknown>) => () => body({ instances: [{ ...good, ...extra }] });
const columnsOf = (row: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(row).map(([k, v]) => [k, [v]]));

const CASES: Case[] = [
  {
    name: 'wrong type for a numeric feature',
    body: withGood({ Horsepower: 'fast' }),
    status: 400,
    says: ['instances[0].Horsepower', 'expected a number', '"fast"'],
  },
  {
    name: 'nested object as a feature value',
    body: withGood({ Horsepower: { value: 130 } }),
    status: 400,
    says: ['instances[0].Horsepower', 'expected a number, got an object'],
  },
  {
    name: 'array as a categorical value',
    body: withGood({ Origin: ['USA'] }),
    status: 400,
    says: ['instances[0].Origin', 'expected a string, got an array'],
  },
  {
    name: 'extra feature',
    body: withGood({ Colour: 'red' }),
    status: 400,
    says: ['instances[0].Colour', 'unknown feature'],
  },
  {
    name: 'misspelt feature, with a suggestion',
    body: withGood({ Horsepowr: 130 }),
    status: 400,
    says: ['instances[0].Horsepowr', 'unknown feature', 'Horsepower'],
  },
  {
    name: 'the target sent as a feature',
    body: withGood({ Miles_per_Gallon: 18 }),
    status: 400,
    says: ['instances[0].Miles_per_Gallon', 'is the target'],
  },
  {
    name: 'unicode key',
    body: withGood({ Horsepöwer: 130 }),
    status: 400,
    says: ['instances[0]["Horsepöwer"]', 'unknown feature', 'Horsepower'],
  },
  {
    name: '__proto__ key',
    body: () => `{"instances": [{"Cylinders": 4, "__proto__": {"x": 1}}]}`,
    status: 400,
    says: ['__proto__', 'unknown feature'],
  },
  {
    name: 'NaN literal (not JSON)',
    body: () => `{"instances": [{"Horsepower": NaN}]}`,
    status: 400,
    says: ['not valid JSON', 'JSON has no NaN or Infinity'],
  },
  {
    name: 'Infinity literal (not JSON)',
    body: () => `{"instances": [{"Horsepower": -Infinity}]}`,
    status: 400,
    says: ['not valid JSON', 'send null for a missing value'],
  },
  {
    name: 'a number too large for a double (parses as Infinity)',
    body: () => `{"instances": [{"Horsepower": 1e999}]}`,
    status: 400,
    says: ['instances[0].Horsepower', 'finite number'],
  },
  {
    name: 'second of three instances bad: index in the path',
    body: () => body({ instances: [good, { ...good, Cylinders: 'eight' }, good] }),
    status: 400,
    says: ['instances[1].Cylinders'],
  },
  {
    name: 'instance that is not an object',
    body: () => body({ instances: [good, 42] }),
    status: 400,
    says: ['instances[1]', 'expected an object of feature values'],
  },
  { name: 'empty instances', body: () => body({ instances: [] }), status: 400, says: ['instances: empty'] },
  {
    name: 'instances not an array',
    body: () => body({ instances: good }),
    status: 400,
    says: ['instances: expected an array'],
  },
  {
    name: '10,000 instances (over limits.maxInstances)',
    body: () => body({ instances: Array.from({ length: 10_000 }, () => good) }),
    status: 413,
    says: ['10000 instances', 'at most 1000', 'limits.maxInstances'],
  },
  {
    name: 'both instances and inputs',
    body: () => body({ instances: [good], inputs: { Cylinders: [4] } }),
    status: 400,
    says: ['either "instances"', 'not both'],
  },
  {
    name: 'neither instances nor inputs',
    body: () => body({ signature_name: 'serving_default' }),
    status: 400,
    says: ['neither "instances"', '"inputs"'],
  },
  {
    name: 'misspelt top-level field',
    body: () => body({ instance: [good] }),
    status: 400,
    says: ['instance: unknown field', 'did you mean'],
  },
  {
    name: 'columns of different lengths',
    body: () => body({ inputs: { Cylinders: [4, 6], Horsepower: [90] } }),
    status: 400,
    says: ['inputs.Horsepower has 1 values', 'inputs.Cylinders has 2'],
  },
  {
    name: 'column that is not an array',
    body: () => body({ inputs: { Cylinders: 4 } }),
    status: 400,
    says: ['inputs.Cylinders', 'expected an array'],
  },
  {
    name: 'unknown column, reported once for the whole column',
    body: () => body({ inputs: { Cylinders: [4, 6, 8], Wheels: [4, 4, 4] } }),
    status: 400,
    says: ['inputs.Wheels[0]', 'unknown feature', 'and in 2 more instances'],
  },
  {
    name: 'body is a JSON array',
    body: () => '[1, 2]',
    status: 400,
    says: ['must be a JSON object', 'an array'],
  },
  { name: 'empty body', body: '', status: 400, says: ['body is empty'] },
  { name: 'non-JSON body', body: '{"instances": [', status: 400, says: ['not valid JSON'] },
  {
    name: 'JSON nested 200,000 deep',
    body: () => `{"instances": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`,
    status: 400,
    says: [],
  },
  {
    name: 'wrong signature_name',
    body: () => body({ signature_name: 'predict_images', instances: [good] }),
    status: 400,
    says: ['signature_name', 'serving_default'],
  },
  {
    name: 'text/plain content type',
    body: () => body({ instances: [good] }),
    contentType: 'text/plain',
    status: 415,
    says: ['"text/plain"', 'application/json'],
  },
  {
    name: 'form content type (curl -d without -H)',
    body: () => body({ instances: [good] }),
    contentType: 'application/x-www-form-urlencoded',
    status: 415,
    says: ['application/x-www-form-urlencoded', "-H 'content-type: application/json'"],
  },
  {
    name: '20 MB body',
    body: () => Buffer.alloc(20 * 1024 * 1024, 32).toString(),
    status: 413,
    says: ['20971520 bytes', 'limits.maxBodyBytes'],
  },
  {
    name: 'unknown model',
    path: '/v1/models/cars:predict',
    body: () => body({ instances: [good] }),
    status: 404,
    says: ['model "cars" is not served', 'serves "mpg"'],
  },
  {
    name: 'unknown version',
    path: '/v1/models/mpg/versions/7:predict',
    body: () => body({ instances: [good] }),
    status: 404,
    says: ['version 7', 'versions: 1'],
  },
  {
    name: 'malformed version',
    path: '/v1/models/mpg/versions/latest:predict',
    body: () => body({ instances: [good] }),
    status: 400,
    says: ['version must be a positive integer', '"latest"'],
  },
  {
    name: ':classify is not served',
    path: '/v1/models/mpg:classify',
    body: () => body({ examples: [good] }),
    status: 404,
    says: [':classify is not served', ':predict'],
  },
  {
    name: 'GET on :predict',
    path: predictPath,
    method: 'GET',
    status: 405,
    says: ['GET is not allowed', 'POST'],
  },
  {
    name: 'unknown route',
    path: '/v1/predict',
    method: 'GET',
    status: 404,
    says: ['no route for /v1/predict'],
  },
  {
    name: 'malformed percent-encoding in the model name',
    path: '/v1/models/%E0%A4%A:predict',
    body: () => body({ instances: [good] }),
    status: 400,
    says: ['malformed percent-encoding'],
  },
  {
    name: 'missing feature with limits.missingFeatures "error"',
    strict: true,
    body: () => body({ instances: [{ ...good, Horsepower: undefined }] }),
    status: 400,
    says: ['instances[0].Horsepower', 'required', 'missingFeatures'],
  },
  {
    name: 'missing feature in columnar format with limits.missingFeatures "error"',
    strict: true,
    body: () => body({ inputs: { Cylinders: [4] } }),
    status: 400,
    says: ['inputs.Displacement[0]', 'required'],
  },
  {
    name: 'feature left out (default limits.missingFeatures "explicit")',
    body: () => body({ instances: [good, { ...good, Horsepower: undefined }] }),
    status: 400,
    says: ['instances[1].Horsepower', 'required', 'or null for a missing value'],
  },
  {
    name: 'feature left out in columnar format on a pinned version',
    path: '/v1/models/mpg/versions/1:predict',
    body: () => body({ inputs: { ...columnsOf(good), Origin: undefined } }),
    status: 400,
    says: ['inputs.Origin[0]', 'required'],
  },
  {
    name: 'number for a categorical feature learnt from strings',
    body: withGood({ Origin: 3 }),
    status: 400,
    says: ['instances[0].Origin', 'expected a string', 'got number 3'],
  },
  {
    name: 'invalid UTF-8 inside a category',
    body: () =>
      Buffer.concat([
        Buffer.from(body({ instances: [{ ...good, Origin: 'US' }] }).replace('"US"', '"US')),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"}]}'),
      ]),
    status: 400,
    says: ['not valid UTF-8', 'instances[0].Origin'],
  },
  {
    name: 'explicit null still needs the feature named with "error"',
    strict: true,
    body: withGood({ Horsepower: null }),
    status: 400,
    says: ['instances[0].Horsepower', 'got a missing value'],
  },
  {
    name: '100 KB body over a 64 KB limit',
    strict: true,
    body: () => body({ instances: Array.from({ length: 800 }, () => good) }),
    status: 413,
    says: ['65536 bytes', 'limits.maxBodyBytes'],
  },
];

describe('bad requests', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const base = c.strict ? strict.url : byDefault.url;
    const payload = typeof c.body === 'function' ? c.body() : c.body;
    const headers: Record<string, string> = {};
    if (c.contentType !== null && payload !== undefined)
      headers['content-type'] = c.contentType ?? 'application/json';
    const answer = await call(`${base}${c.path ?? predictPath}`, {
      method: c.method ?? 'POST',
      ...(payload !== undefined && { body: payload }),
      headers,
    });
    expect(answer.status, answer.text.slice(0, 300)).toBe(c.status);
    expect(typeof answer.json.error, answer.text.slice(0, 300)).toBe('string');
    for (const fragment of c.says) expect(answer.json.error as string).toContain(fragment);
  });

  it('lists every problem of a request at once', async () => {
    const answer = await call(`${byDefault.url}${predictPath}`, {
      body: body({
        instances: [
          { ...good, Horsepower: 'x' },
          { ...good, Origin: {} },
        ],
      }),
    });
    expect(answer.status).toBe(400);
    expect(answer.json.problems).toEqual([
      { path: 'instances[0].Horsepower', message: 'expected a number, got string "x"' },
      { path: 'instances[1].Origin', message: 'expected a string, got an object' },
    ]);
  });

  it('refuses an oversized chunked upload (no content-length) while reading it', async () => {
    const { status, text } = await rawPost(strict.url, predictPath, { chunks: 40, chunkBytes: 4096 });
    expect(status).toBe(413);
    expect(text).toContain('over 65536 bytes');
  });

  it('refuses an oversized upload announced with Expect: 100-continue before it is sent', async () => {
    const { status, continued } = await rawPost(strict.url, predictPath, {
      chunks: 20,
      chunkBytes: 1024 * 1024,
      expectContinue: true,
    });
    expect(status).toBe(413);
    expect(continued).toBe(false);
  });

  it('answers 400 for malformed HTTP and stays up', async () => {
    const { connect } = await import('node:net');
    const { port } = new URL(byDefault.url);
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', () => resolve(data));
    });
    expect(reply).toMatch(/^HTTP\/1.1 400/);
  });

  it('still answers good requests correctly afterwards, and counted the errors', async () => {
    const answer = await call(`${byDefault.url}${predictPath}`, { body: body({ instances: [good] }) });
    expect(answer.status).toBe(200);
    expectClose(answer.json.predictions, inProcess(cars, [good]));
    const metrics = await call(`${byDefault.url}/metrics`);
    expect(metricValue(metrics.text, 'mlform_serving_errors_total', { code: '400' })).toBeGreaterThan(20);
    expect(metricValue(metrics.text, 'mlform_serving_errors_total', { code: '413' })).toBeGreaterThanOrEqual(
      2,
    );
    expect(metricValue(metrics.text, 'mlform_serving_errors_total', { code: '415' })).toBe(2);
    const ready = await call(`${byDefault.url}/v2/health/ready`);
    expect(ready.status).toBe(200);
  });
});

/** A POST written by hand: chunked (no content-length) or announced with Expect: 100-continue. */
function rawPost(
  base: string,
  path: string,
  options: { chunks: number; chunkBytes: number; expectContinue?: boolean },
): Promise<{ status: number; text: string; continued: boolean }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    let continued = false;
    const headers: Record<string, string | number> = { 'content-type': 'application/json' };
    if (options.expectContinue) {
      headers.expect = '100-continue';
      headers['content-length'] = options.chunks * options.chunkBytes;
    }
    const req = httpRequest(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, continued }));
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(options.chunkBytes, 32);
    const send = (): void => {
      for (let i = 0; i < options.chunks; i++) req.write(chunk);
      req.end();
    };
    if (options.expectContinue) {
      req.on('continue', () => {
        continued = true;
        send();
      });
      req.flushHeaders();
    } else send();
  });
}
