import { describe, expect, it } from 'vitest';
import { scoreEndpoint, scoreWindow } from '../../monitoring/drift.js';
import type { ReferenceStatistics } from '../../monitoring/statistics.js';
import type { WindowSummary } from '../../monitoring/window-summary.js';
import type { EndpointMonitoring } from '../../resources/monitoring.js';

const reference: ReferenceStatistics = {
  formatVersion: 1,
  rows: 100,
  features: {
    x: {
      type: 'numeric',
      count: 100,
      missing: 0,
      edges: [10, 20],
      counts: [50, 30, 20],
      min: 0,
      max: 30,
      mean: 12,
      std: 5,
    },
    o: { type: 'categorical', count: 100, missing: 0, categories: { USA: 60, Japan: 40 }, other: 0 },
  },
  prediction: {
    type: 'numeric',
    count: 20,
    missing: 0,
    edges: [15],
    counts: [10, 10],
    min: 9,
    max: 30,
    mean: 20,
    std: 4,
  },
  validation: { val_mae: 2.5, val_rmse: 3 },
};

const settings: EndpointMonitoring = {
  sampleRate: 0.1,
  window: '1h',
  minSamples: 100,
  drift: { metric: 'psi', threshold: 0.2, features: { o: 0.5 } },
  quality: { metric: 'mae', max: 4 },
  retention: '168h',
};

const summary = (start: string, count: number, over: Partial<WindowSummary> = {}): WindowSummary => ({
  formatVersion: 1,
  endpoint: 'mpg',
  model: 'mpg',
  version: 1,
  windowStart: `2026-01-01T${start}:00:00.000Z`,
  windowEnd: `2026-01-01T${String(Number(start) + 1).padStart(2, '0')}:00:00.000Z`,
  instance: 'i-1',
  count,
  features: {
    x: { type: 'numeric', counts: [count / 2, (count * 3) / 10, count / 5], missing: 0 },
    o: {
      type: 'categorical',
      categories: { USA: (count * 6) / 10, Japan: (count * 4) / 10 },
      other: 0,
      missing: 0,
    },
  },
  prediction: { type: 'numeric', counts: [count / 2, count / 2], missing: 0 },
  ...over,
});

const now = new Date('2026-01-01T11:30:00Z');

describe('scoreWindow', () => {
  it('scores the last complete window: each feature with its own threshold, drifted names the feature', () => {
    const moved = summary('10', 100, {
      features: {
        x: { type: 'numeric', counts: [50, 30, 20], missing: 0 },
        o: { type: 'categorical', categories: { USA: 10, Japan: 90 }, other: 0, missing: 0 },
      },
      quality: { count: 10, sumAbsError: 50, sumSquaredError: 300, correct: 0, unmatched: 2 },
    });
    const status = scoreWindow(
      reference,
      [summary('09', 500), moved, summary('11', 1000, { features: {} })],
      settings,
      now,
    );
    expect(status.windowStart).toBe('2026-01-01T10:00:00.000Z');
    expect(status.windowEnd).toBe('2026-01-01T11:00:00.000Z');
    expect(status.count).toBe(100);
    expect(status.drift).toBe('drifted');
    // o: (.1-.6)ln(.1/.6) + (.9-.4)ln(.9/.4) = 1.3013, past its own threshold 0.5
    expect(status.features).toEqual([
      { name: 'x', metric: 'psi', score: 0, threshold: 0.2, drifted: false, ks: 0 },
      { name: 'o', metric: 'psi', score: 1.3013, threshold: 0.5, drifted: true },
      { name: '_prediction', metric: 'psi', score: 0, threshold: 0.2, drifted: false, ks: 0 },
    ]);
    expect(status.quality).toEqual({ metric: 'mae', value: 5, count: 10, validation: 2.5, degraded: true });
  });

  it('a numeric feature that moved bins drifts by PSI and reports KS; missing values count as a bin', () => {
    const status = scoreWindow(
      reference,
      [
        summary('10', 100, {
          features: {
            ...summary('10', 100).features,
            x: { type: 'numeric', counts: [10, 30, 50], missing: 10 },
          },
        }),
      ],
      settings,
      now,
    );
    const x = status.features.find((f) => f.name === 'x')!;
    const e = [0.5, 0.3, 0.2, 1e-4];
    const a = [0.1, 0.3, 0.5, 0.1];
    const expected = e.reduce((sum, p, i) => sum + (a[i] - p) * Math.log(a[i] / p), 0);
    expect(x.score).toBeCloseTo(expected, 4);
    expect(x.drifted).toBe(true);
    // CDFs over the present bins: ref .5 .8 1, live 10/90 40/90 1
    expect(x.ks).toBeCloseTo(0.5 - 10 / 90, 4);
  });

  it('skips a complete window with fewer than minSamples for an earlier one that has enough', () => {
    const status = scoreWindow(reference, [summary('09', 500), summary('10', 40)], settings, now);
    expect(status.windowStart).toBe('2026-01-01T09:00:00.000Z');
    expect(status.count).toBe(500);
    expect(status.drift).toBe('ok');
  });

  it('is unknown with the reason when no complete window has minSamples', () => {
    expect(scoreWindow(reference, [summary('10', 40), summary('11', 900)], settings, now)).toEqual({
      windowStart: '2026-01-01T10:00:00.000Z',
      windowEnd: '2026-01-01T11:00:00.000Z',
      count: 40,
      drift: 'unknown',
      features: [],
      detail: 'the last complete window counted 40 request(s), fewer than minSamples 100',
    });
    expect(scoreWindow(reference, [], settings, now)).toMatchObject({
      drift: 'unknown',
      detail: 'no complete window yet',
    });
  });

  it('adds the instances of a window before comparing with minSamples', () => {
    const status = scoreWindow(
      reference,
      [summary('10', 60), summary('10', 60, { instance: 'i-2' })],
      settings,
      now,
    );
    expect(status).toMatchObject({ count: 120, drift: 'ok' });
  });

  it('names features it could not compare instead of failing (bins of another reference)', () => {
    const status = scoreWindow(
      reference,
      [
        summary('10', 100, {
          features: { ...summary('10', 100).features, x: { type: 'numeric', counts: [100], missing: 0 } },
        }),
      ],
      settings,
      now,
    );
    expect(status.features.map((f) => f.name)).toEqual(['o', '_prediction']);
    expect(status.detail).toBe('not scored: x: 1 bins counted, the reference has 3');
  });

  it('uses Jensen-Shannon distance when asked; accuracy for a label model', () => {
    const labels: ReferenceStatistics = {
      ...reference,
      prediction: { type: 'categorical', count: 10, missing: 0, categories: { a: 5, b: 5 }, other: 0 },
      validation: { val_accuracy: 0.9 },
    };
    const status = scoreWindow(
      labels,
      [
        summary('10', 100, {
          prediction: { type: 'categorical', categories: { a: 90, b: 10 }, other: 0, missing: 0 },
          quality: { count: 20, sumAbsError: 0, sumSquaredError: 0, correct: 15, unmatched: 0 },
        }),
      ],
      { ...settings, drift: { metric: 'js', threshold: 0.3 }, quality: undefined },
      now,
    );
    expect(status.features.find((f) => f.name === '_prediction')).toMatchObject({
      metric: 'js',
      score: 0.3831,
      drifted: true,
    });
    expect(status.quality).toEqual({
      metric: 'accuracy',
      value: 0.75,
      count: 20,
      validation: 0.9,
      degraded: false,
    });
  });
});

describe('scoreEndpoint', () => {
  it('scores each version against its own statistics and reports the worst', () => {
    const v2 = summary('10', 100, {
      version: 2,
      features: {
        ...summary('10', 100).features,
        o: { type: 'categorical', categories: { USA: 0, Japan: 10 }, other: 90, missing: 0 },
      },
    });
    const status = scoreEndpoint(
      [
        { version: 1, statistics: reference },
        { version: 2, statistics: reference },
      ],
      [summary('10', 900), v2],
      settings,
      now,
    );
    expect(status).toMatchObject({ version: 2, drift: 'drifted', count: 100 });
    expect(status.features.find((f) => f.name === 'o')?.drifted).toBe(true);
  });

  it('a version without statistics.json is unknown with the reason, the others still scored', () => {
    const only = scoreEndpoint(
      [{ version: 3, detail: 'the artifact has no statistics.json' }],
      [summary('10', 100, { version: 3 })],
      settings,
      now,
    );
    expect(only).toEqual({
      version: 3,
      count: 100,
      drift: 'unknown',
      features: [],
      detail: 'the artifact has no statistics.json',
    });
    const both = scoreEndpoint(
      [
        { version: 3, detail: 'the artifact has no statistics.json' },
        { version: 1, statistics: reference },
      ],
      [summary('10', 100, { version: 3 }), summary('10', 100)],
      settings,
      now,
    );
    expect(both).toMatchObject({ version: 1, drift: 'ok' });
  });
});
