/**
 * Several versions in one process: weighted traffic for unpinned requests, version-pinned routes,
 * and the split itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrafficSplit } from '../../serving/traffic.js';
import type { ModelServer } from '../../serving/index.js';
import {
  call,
  expectClose,
  inProcess,
  instanceOf,
  predict,
  startServer,
  tempDir,
  trainArtifact,
  type TinyArtifact,
} from './helpers.js';

describe('TrafficSplit', () => {
  it('sends exactly the percents over every 100 requests, interleaved', () => {
    const split = new TrafficSplit([
      { target: 'a', percent: 90 },
      { target: 'b', percent: 10 },
    ]);
    const picks = Array.from({ length: 100 }, () => split.next());
    expect(picks.filter((p) => p === 'b')).toHaveLength(10);
    // Interleaved: the canary's requests are spread out, not bunched at the end.
    const firstB = picks.indexOf('b');
    expect(firstB).toBeLessThan(12);
    // And the next 100 again.
    expect(Array.from({ length: 100 }, () => split.next()).filter((p) => p === 'a')).toHaveLength(90);
  });

  it('handles three-way and fractional splits, and skips 0% targets', () => {
    const split = new TrafficSplit([
      { target: 'a', percent: 33.3 },
      { target: 'b', percent: 0 },
      { target: 'c', percent: 66.7 },
    ]);
    const picks = Array.from({ length: 1000 }, () => split.next());
    expect(picks.filter((p) => p === 'a')).toHaveLength(333);
    expect(picks).not.toContain('b');
  });
});

describe('two versions in one server', () => {
  let dir: { path: string; remove(): Promise<void> };
  let v1: TinyArtifact;
  let v2: TinyArtifact;
  let weighted: { server: ModelServer; url: string };
  let latestOnly: { server: ModelServer; url: string };

  beforeAll(async () => {
    dir = await tempDir();
    v1 = await trainArtifact('cars', `${dir.path}/1`, { seed: 1 });
    v2 = await trainArtifact('cars', `${dir.path}/2`, { seed: 2, epochs: 3 });
    weighted = await startServer({
      name: 'mpg',
      versions: [
        { version: 1, uri: v1.dir, percent: 75 },
        { version: 2, uri: v2.dir, percent: 25 },
      ],
    });
    latestOnly = await startServer({
      name: 'mpg',
      versions: [
        { version: 1, uri: v1.dir },
        { version: 2, uri: v2.dir },
      ],
    });
  });

  afterAll(async () => {
    await weighted?.server.shutdown();
    await latestOnly?.server.shutdown();
    await dir?.remove();
  });

  it('splits unpinned traffic 75/25, and each answer comes from the version it names', async () => {
    const instance = instanceOf(v1, v1.rows[10]);
    const expected: Record<string, unknown> = {
      '1': inProcess(v1, [instance])[0],
      '2': inProcess(v2, [instance])[0],
    };
    expect(expected['1']).not.toBeCloseTo(expected['2'] as number, 3);
    const counts: Record<string, number> = { '1': 0, '2': 0 };
    for (let i = 0; i < 100; i++) {
      const answer = await predict(weighted.url, 'mpg', { instances: [instance] });
      const version = answer.headers.get('x-model-version') ?? '?';
      counts[version]++;
      expectClose(answer.json.predictions, [expected[version] as number]);
    }
    expect(counts).toEqual({ '1': 75, '2': 25 });
  });

  it('pins /versions/{v}:predict to that version', async () => {
    const instances = v1.rows.slice(0, 20).map((row) => instanceOf(v1, row));
    for (const [version, artifact] of [
      [1, v1],
      [2, v2],
    ] as const) {
      for (let i = 0; i < 5; i++) {
        const answer = await predict(weighted.url, 'mpg', { instances }, version);
        expect(answer.status).toBe(200);
        expect(answer.headers.get('x-model-version')).toBe(String(version));
        expectClose(answer.json.predictions, inProcess(artifact, instances));
      }
    }
  });

  it('lists both versions in status, and serves per-version status and metadata', async () => {
    const status = await call(`${weighted.url}/v1/models/mpg`);
    expect(
      (status.json.model_version_status as { version: string; state: string }[]).map((s) => [
        s.version,
        s.state,
      ]),
    ).toEqual([
      ['1', 'AVAILABLE'],
      ['2', 'AVAILABLE'],
    ]);
    const one = await call(`${weighted.url}/v1/models/mpg/versions/2`);
    expect((one.json.model_version_status as unknown[]).length).toBe(1);
    const metadata = await call(`${weighted.url}/v1/models/mpg/versions/1/metadata`);
    expect((metadata.json.model_spec as { version: string }).version).toBe('1');
    expect((metadata.json.mlform as { trafficPercent: number }).trafficPercent).toBe(75);
    const latest = await call(`${weighted.url}/v1/models/mpg/metadata`);
    expect((latest.json.model_spec as { version: string }).version).toBe('2');
    const ready = await call(`${weighted.url}/v2/models/mpg/versions/1/ready`);
    expect(ready.status).toBe(200);
  });

  it('without percents, sends unpinned traffic to the highest version; the others stay pinnable', async () => {
    const instance = instanceOf(v1, v1.rows[0]);
    for (let i = 0; i < 10; i++) {
      const answer = await predict(latestOnly.url, 'mpg', { instances: [instance] });
      expect(answer.headers.get('x-model-version')).toBe('2');
    }
    const pinned = await predict(latestOnly.url, 'mpg', { instances: [instance] }, 1);
    expectClose(pinned.json.predictions, inProcess(v1, [instance]));
  });
});
