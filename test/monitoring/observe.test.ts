/** What a provider reads for a monitored endpoint, with in-memory reads: names, bounds, bad data. */
import { describe, expect, it } from 'vitest';
import {
  observeMonitoring,
  summaryVersion,
  windowKeysToRead,
  type MonitoringReads,
} from '../../monitoring/observe.js';
import type { ReferenceStatistics } from '../../monitoring/statistics.js';
import { Value } from '@sinclair/typebox/value';
import { EndpointMonitoringSchema, type EndpointMonitoring } from '../../resources/monitoring.js';
import { windowSummary } from './fixtures.js';

// The schema's defaults (1h windows, PSI above 0.2), with fewer samples needed.
const settings = Value.Default(EndpointMonitoringSchema, { minSamples: 10 }) as EndpointMonitoring;
const now = new Date('2026-03-01T12:20:00Z');
const last = Date.parse('2026-03-01T11:00:00Z');
const statistics: ReferenceStatistics = {
  formatVersion: 1,
  rows: 10,
  features: {
    x: {
      type: 'numeric',
      count: 10,
      missing: 0,
      edges: [5],
      counts: [5, 5],
      min: 0,
      max: 9,
      mean: 4.5,
      std: 3,
    },
  },
};
const good = windowSummary(last, {
  count: 10,
  features: { x: { type: 'numeric', counts: [5, 5], missing: 0 } },
});

function reads(
  files: Record<string, Record<string, string>>,
  stats = true,
): MonitoringReads & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async listWindow(key) {
      asked.push(key);
      return Object.entries(files[key] ?? {}).map(([name, text]) => ({
        name,
        read: async () => Buffer.from(text),
      }));
    },
    readStatistics: async () =>
      stats ? { ok: true, statistics } : { ok: false, detail: 'the artifact has no statistics.json' },
  };
}

describe('observeMonitoring', () => {
  it('reads the last two complete windows, newest first, never the one in progress', () => {
    expect(windowKeysToRead(settings, now)).toEqual(['20260301T110000Z', '20260301T100000Z']);
    expect(windowKeysToRead({ window: '15m' }, now)).toEqual(['20260301T120000Z', '20260301T114500Z']);
  });

  it('only file names the server writes, of served versions, count', async () => {
    expect(
      ['v1-a.json', 'v12-host.1_x.json', 'v0-a.json', 'v1-.json', 'v1-a/b.json', '../v1-a.json'].map(
        summaryVersion,
      ),
    ).toEqual([1, 12, undefined, undefined, undefined, undefined]);
    const r = reads({
      '20260301T110000Z': {
        'v1-a.json': JSON.stringify(good),
        'v2-a.json': JSON.stringify({ ...good, version: 2 }),
        'notes.txt': 'x',
      },
    });
    const status = await observeMonitoring(settings, [1], r, now);
    expect(status).toMatchObject({ drift: 'ok', count: 10, version: 1 });
    expect(r.asked).toEqual(['20260301T110000Z', '20260301T100000Z']);
  });

  it('names a summary that is not JSON or breaks the schema, and scores the rest', async () => {
    const r = reads({
      '20260301T110000Z': {
        'v1-a.json': JSON.stringify(good),
        'v1-b.json': '{',
        'v1-c.json': JSON.stringify({ ...good, count: -1 }),
      },
    });
    const status = await observeMonitoring(settings, [1], r, now);
    expect(status.drift).toBe('ok');
    expect(status.detail).toBe(
      'ignored: 20260301T110000Z/v1-b.json is not JSON; 20260301T110000Z/v1-c.json does not match the window summary schema at /count: Expected integer to be greater or equal to 0',
    );
  });

  it('without statistics.json drift is unknown, saying why; a storage error is unknown too, never a throw', async () => {
    const none = await observeMonitoring(
      settings,
      [1],
      reads({ '20260301T110000Z': { 'v1-a.json': JSON.stringify(good) } }, false),
      now,
    );
    expect(none).toEqual({
      version: 1,
      count: 10,
      drift: 'unknown',
      features: [],
      detail: 'the artifact has no statistics.json',
    });
    const broken: MonitoringReads = {
      listWindow: () => Promise.reject(new Error('bucket unreachable')),
      readStatistics: async () => ({ ok: true, statistics }),
    };
    expect(await observeMonitoring(settings, [1], broken, now)).toEqual({
      count: 0,
      drift: 'unknown',
      features: [],
      detail: 'monitoring data could not be read: bucket unreachable',
    });
  });
});
