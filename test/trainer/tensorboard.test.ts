/**
 * Reads the writer's event files back with an independent reader (tensorboard-event-reader.ts),
 * so an encoding bug cannot cancel itself out.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SummaryWriter,
  crc32c,
  histogramOf,
  maskedCrc32c,
  scatterPng,
} from '../../trainer/tensorboard/index.js';
import type { EncodedImage, EventSink } from '../../trainer/tensorboard/index.js';
import {
  VALUE,
  bitwiseCrc32c,
  bitwiseMasked,
  parseEvents,
  pluginName,
  readRecords,
  structValue,
  tagOf,
  valuesWithTag,
  type Msg,
  type ReadEvent,
} from './tensorboard-event-reader.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('crc32c', () => {
  const vectors: [string, Uint8Array, number][] = [
    ['"123456789"', utf8('123456789'), 0xe3069283],
    ['32 zero bytes (RFC 3720)', new Uint8Array(32), 0x8a9136aa],
    ['32 0xff bytes (RFC 3720)', new Uint8Array(32).fill(0xff), 0x62a8ab43],
    ['bytes 0..31 (RFC 3720)', Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
  ];

  it.each(vectors)('known answer for %s, both implementations', (_name, data, expected) => {
    expect(crc32c(data)).toBe(expected);
    expect(bitwiseCrc32c(data)).toBe(expected);
  });

  it('agrees with the bitwise reference on arbitrary data, chunked or not', () => {
    const data = Uint8Array.from({ length: 4099 }, (_, i) => (i * 2654435761) >>> 24);
    expect(crc32c(data)).toBe(bitwiseCrc32c(data));
    expect(crc32c(data.subarray(1000), crc32c(data.subarray(0, 1000)))).toBe(bitwiseCrc32c(data));
    expect(maskedCrc32c(data)).toBe(bitwiseMasked(data));
    expect(maskedCrc32c(new Uint8Array(0))).toBe(0xa282ead8);
  });
});

describe('SummaryWriter event file', () => {
  const T0 = 1_700_000_000_123;
  let dir: string;
  let fileName: string;
  let events: ReadEvent[];
  let clock = T0;
  const hparams = { learning_rate: 0.003, optimizer: 'adam', batch_norm: true, layers: 3 };
  const weights = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 0.5);
  let scatter: EncodedImage;
  const markdown = '| key | value |\n| --- | --- |\n| model.kind | dense — ü |';

  beforeAll(async () => {
    scatter = await scatterPng([1, 2, 3, 4], [1.1, 1.9, 3.2, 3.7], { width: 160, height: 120 });
    dir = await mkdtemp(join(tmpdir(), 'mlform-tb-'));
    const writer = await SummaryWriter.create(join(dir, 'run'), { hostname: 'testhost', now: () => clock });
    writer.hparams(hparams, ['val/loss', 'train/loss'], { group: 'g1', startTime: T0 - 5000 });
    for (let step = 0; step < 3; step++) {
      clock += 1000;
      writer.scalar('train/loss', 1 / (step + 1), step);
      writer.scalar('val/loss', step === 0 ? 0 : -0.1 * step, step);
    }
    writer.histogram('weights/dense_1/kernel', [...weights, NaN, Infinity], 2);
    writer.image('val/predicted_vs_actual', scatter.png, scatter.width, scatter.height, 2);
    writer.text('config/spec', markdown, 0);
    clock += 1000;
    writer.hparamsEnd('failure');
    await writer.close();
    const files = await readdir(join(dir, 'run'));
    expect(files).toHaveLength(1);
    fileName = files[0];
    events = parseEvents(await readFile(join(dir, 'run', fileName)));
  });

  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('is named events.out.tfevents.<unix seconds>.<host>', () => {
    expect(fileName).toBe(`events.out.tfevents.${Math.floor(T0 / 1000)}.testhost`);
  });

  it('starts with the file_version event', () => {
    expect(events[0]).toMatchObject({ fileVersion: 'brain.Event:2', step: 0, values: [] });
    expect(events[0].wallTime).toBeCloseTo(T0 / 1000, 6);
    expect(events.slice(1).every((e) => e.fileVersion === undefined && e.values.length === 1)).toBe(true);
  });

  it('writes scalars as simple_value with their steps and wall times', () => {
    const train = valuesWithTag(events, 'train/loss');
    expect(train.map((s) => s.step)).toEqual([0, 1, 2]);
    expect(train.map((s) => s.value.float(VALUE.simple_value))).toEqual([1, 1 / 2, 1 / 3].map(Math.fround));
    expect(train.map((s) => s.wallTime)).toEqual([T0 + 1000, T0 + 2000, T0 + 3000].map((t) => t / 1000));
    // Zero must still be present on the wire: it marks which oneof member is set.
    const val = valuesWithTag(events, 'val/loss');
    expect(val.map((s) => s.value.float(VALUE.simple_value))).toEqual([0, -0.1, -0.2].map(Math.fround));
  });

  it('writes a consistent histogram', () => {
    const [entry] = valuesWithTag(events, 'weights/dense_1/kernel');
    expect(entry.step).toBe(2);
    const histo = entry.value.message(VALUE.histo);
    const [min, max, num, sum, sumSquares] = [1, 2, 3, 4, 5].map((no) => histo.double(no));
    const limits = histo.doubles(6);
    const counts = histo.doubles(7);
    expect(num).toBe(weights.length);
    expect(min).toBe(Math.min(...weights));
    expect(max).toBe(Math.max(...weights));
    expect(sum).toBeCloseTo(
      weights.reduce((a, b) => a + b, 0),
      9,
    );
    expect(sumSquares).toBeCloseTo(
      weights.reduce((a, b) => a + b * b, 0),
      9,
    );
    expect(counts.length).toBe(limits.length);
    expect(counts.length).toBeGreaterThan(1);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(num);
    expect(limits.at(-1)).toBe(max);
    expect(limits.every((limit, i) => i === 0 || limit > limits[i - 1])).toBe(true);
    expect(limits[0]).toBeGreaterThan(min);
    // Buckets are [previous limit, limit), the last one closed at max, as in TensorFlow.
    const expected = counts.map((_, i) => {
      const lo = i === 0 ? min : limits[i - 1];
      const last = i === counts.length - 1;
      return weights.filter((w) => w >= lo && (w < limits[i] || (last && w === max))).length;
    });
    expect(counts).toEqual(expected);
  });

  it('writes the image as an RGBA Summary.Image holding the PNG', () => {
    const [entry] = valuesWithTag(events, 'val/predicted_vs_actual');
    const image = entry.value.message(VALUE.image);
    expect(image.int(1)).toBe(120);
    expect(image.int(2)).toBe(160);
    expect(image.int(3)).toBe(4);
    const png = image.bytes(4);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const decoded = PNG.sync.read(Buffer.from(png));
    expect([decoded.width, decoded.height]).toEqual([160, 120]);
    expect(Buffer.from(png).equals(scatter.png)).toBe(true);
  });

  it('writes text as a string tensor for the text plugin', () => {
    const [entry] = valuesWithTag(events, 'config/spec');
    expect(entry.step).toBe(0);
    expect(pluginName(entry.value)).toBe('text');
    expect(entry.value.message(VALUE.metadata).int(4)).toBe(2); // DATA_CLASS_TENSOR
    const tensor = entry.value.message(VALUE.tensor);
    expect(tensor.int(1)).toBe(7); // DT_STRING
    expect(tensor.message(2).all(2)).toHaveLength(0); // rank 0
    expect(tensor.all(8)).toHaveLength(1);
    expect(tensor.string(8)).toBe(markdown);
  });

  const hparamsContent = (tag: string): Msg => {
    const [entry] = valuesWithTag(events, tag);
    expect(pluginName(entry.value)).toBe('hparams');
    expect(entry.value.message(VALUE.metadata).int(4)).toBe(2);
    const tensor = entry.value.message(VALUE.tensor);
    expect(tensor.int(1)).toBe(1); // DT_FLOAT, shape [0]
    expect(
      tensor
        .message(2)
        .messages(2)
        .map((dim) => dim.int(1)),
    ).toEqual([0]);
    const content = entry.value.message(VALUE.metadata).message(1).message(2);
    expect(content.int(1)).toBe(0); // plugin data version
    return content;
  };

  it('writes the hparams experiment with hparam and metric infos', () => {
    const experiment = hparamsContent('_hparams_/experiment').message(2);
    expect(experiment.double(3)).toBe((T0 - 5000) / 1000);
    const infos = experiment.messages(4).map((info) => [info.string(1), info.int(4)]);
    expect(infos).toEqual([
      ['learning_rate', 3],
      ['optimizer', 1],
      ['batch_norm', 2],
      ['layers', 3],
    ]);
    const metrics = experiment
      .messages(5)
      .map((info) => [info.message(1).string(1), info.message(1).string(2)]);
    expect(metrics).toEqual([
      ['', 'val/loss'],
      ['', 'train/loss'],
    ]);
  });

  it('writes session_start_info with the hparams and session_end_info with the status', () => {
    const start = hparamsContent('_hparams_/session_start_info').message(3);
    const values = Object.fromEntries(
      start.messages(1).map((entry) => [entry.string(1), structValue(entry.message(2))]),
    );
    expect(values).toEqual(hparams);
    expect(start.string(4)).toBe('g1');
    expect(start.double(5)).toBe((T0 - 5000) / 1000);

    const end = hparamsContent('_hparams_/session_end_info').message(4);
    expect(end.int(1)).toBe(2); // STATUS_FAILURE
    expect(end.double(2)).toBe((T0 + 4000) / 1000);
  });
});

/** A sink that keeps each write separately, to observe batching. */
function memorySink(): EventSink & { writes: Uint8Array[]; closed: boolean } {
  const sink = {
    writes: [] as Uint8Array[],
    closed: false,
    write(bytes: Uint8Array) {
      sink.writes.push(Uint8Array.from(bytes));
    },
    close() {
      sink.closed = true;
    },
  };
  return sink;
}

const concat = (chunks: Uint8Array[]): Uint8Array => Buffer.concat(chunks);

describe('SummaryWriter batching and sinks', () => {
  it('round-trips 10,000 scalars', async () => {
    const sink = memorySink();
    const writer = await SummaryWriter.create(sink, { now: () => 1_700_000_000_000 });
    const values = Array.from({ length: 10_000 }, (_, i) => Math.exp(-i / 2000) + (i % 7) * 1e-3);
    values.forEach((v, i) => writer.scalar('train/step_loss', v, i));
    await writer.close();
    expect(sink.closed).toBe(true);
    const read = parseEvents(concat(sink.writes)).slice(1);
    expect(read).toHaveLength(10_000);
    expect(read.map((e) => e.step)).toEqual(values.map((_, i) => i));
    expect(read.every((e) => tagOf(e.values[0]) === 'train/step_loss')).toBe(true);
    expect(read.map((e) => e.values[0].float(VALUE.simple_value))).toEqual(values.map(Math.fround));
    // Batched: far fewer sink writes than records, each holding whole records only.
    expect(sink.writes.length).toBeLessThan(20);
    for (const chunk of sink.writes) expect(() => readRecords(chunk)).not.toThrow();
  });

  it('produces records whose corruption the reader notices', async () => {
    const sink = memorySink();
    const writer = await SummaryWriter.create(sink);
    writer.text('model/summary', 'dense(8) -> dense(1)', 0);
    await writer.close();
    const bytes = concat(sink.writes);
    expect(readRecords(bytes)).toHaveLength(2);
    for (const offset of [0, 9, 14, bytes.length - 1]) {
      const corrupt = Uint8Array.from(bytes);
      corrupt[offset] ^= 0x01;
      expect(() => readRecords(corrupt)).toThrow(/CRC|truncated/);
    }
  });

  it('flushes once maxPendingRecords are queued, and on flush()', async () => {
    const sink = memorySink();
    const writer = await SummaryWriter.create(sink, { flushIntervalMs: 0, maxPendingRecords: 100 });
    expect(sink.writes).toHaveLength(1); // the header, written at once
    for (let i = 0; i < 250; i++) writer.scalar('a', i, i);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sink.writes.map((w) => readRecords(w).length)).toEqual([1, 100, 100]);
    await writer.flush();
    expect(sink.writes.map((w) => readRecords(w).length)).toEqual([1, 100, 100, 50]);
    await writer.close();
  });

  it('flushes in the background every flushIntervalMs', async () => {
    const sink = memorySink();
    const writer = await SummaryWriter.create(sink, { flushIntervalMs: 10 });
    writer.scalar('health/score', 0.9, 1);
    await expect.poll(() => sink.writes.length, { timeout: 1000, interval: 5 }).toBe(2);
    await writer.close();
  });

  it('rejects bad input and use after close', async () => {
    const writer = await SummaryWriter.create(memorySink());
    expect(() => writer.scalar('', 1, 0)).toThrow(TypeError);
    expect(() => writer.scalar('x', 1, 1.5)).toThrow(RangeError);
    expect(() => writer.image('x', new Uint8Array([1, 2, 3]), 1, 1, 0)).toThrow(/not a PNG/);
    await writer.close();
    expect(() => writer.scalar('x', 1, 0)).toThrow(/closed/);
    await writer.close();
  });

  it('reports a failed sink write from flush() and still closes the sink', async () => {
    let closed = false;
    let fail = false;
    const writer = await SummaryWriter.create({
      write() {
        if (fail) throw new Error('disk full');
      },
      close() {
        closed = true;
      },
    });
    fail = true;
    writer.scalar('x', 1, 0);
    await expect(writer.flush()).rejects.toThrow('disk full');
    await expect(writer.close()).rejects.toThrow('disk full');
    expect(closed).toBe(true);
  });

  it('accepts a file:// directory and refuses gs:// without a sink', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlform-tb-'));
    try {
      const writer = await SummaryWriter.create(pathToFileURL(join(dir, 'logs')).href, { hostname: 'h' });
      await writer.close();
      expect(writer.path?.startsWith(join(dir, 'logs', 'events.out.tfevents.'))).toBe(true);
      await expect(SummaryWriter.create('gs://bucket/run')).rejects.toThrow(/EventSink/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives two writers started in the same second their own files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlform-tb-'));
    try {
      const options = { hostname: 'h', now: () => 1_700_000_000_000 };
      const [a, b] = await Promise.all([
        SummaryWriter.create(dir, options),
        SummaryWriter.create(dir, options),
      ]);
      a.scalar('x', 1, 0);
      b.scalar('x', 2, 0);
      await Promise.all([a.close(), b.close()]);
      const files = (await readdir(dir)).sort();
      expect(files).toEqual(['events.out.tfevents.1700000000.h', 'events.out.tfevents.1700000000.h.1']);
      expect([a.path, b.path].sort()).toEqual(files.map((f) => join(dir, f)));
      for (const file of files) {
        const read = parseEvents(await readFile(join(dir, file)));
        expect(read.map((e) => e.fileVersion)).toEqual(['brain.Event:2', undefined]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('histogramOf', () => {
  it('counts every finite value once, with max in the last bucket', () => {
    const values = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const h = histogramOf(values, 5);
    expect(h).toMatchObject({ min: 0, max: 10, num: 11, sum: 55, sum_squares: 385 });
    expect(h.bucket_limit).toEqual([2, 4, 6, 8, 10]);
    expect(h.bucket).toEqual([2, 2, 2, 2, 3]);
  });

  it('handles constant, empty and non-finite input', () => {
    expect(histogramOf([3, 3, 3])).toMatchObject({ min: 3, max: 3, num: 3, bucket_limit: [3], bucket: [3] });
    expect(histogramOf([NaN, Infinity])).toMatchObject({ num: 0, bucket_limit: [0], bucket: [0] });
    expect(() => histogramOf([1], 0)).toThrow(RangeError);
  });
});
