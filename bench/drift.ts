/**
 * What observing drift costs (issue 15): a day of hourly windows of a monitored endpoint scored
 * from the window summaries the servers write, side by side with the same day recounted from the
 * raw prediction log (what a log-rereading design would do), in one run. The endpoint: 25 raw
 * features (20 numeric in 10 bins, 5 categorical with 50 values), 4 server instances, 4,000
 * requests an hour, all logged for the recount (sampleRate 1: the most a log can hold).
 *
 * Run: npm run bench -- drift
 */
import { performance } from 'node:perf_hooks';
import { cpus } from 'node:os';
import { categoricalStatistics, numericStatistics } from '../monitoring/reference.js';
import { scoreWindow } from '../monitoring/drift.js';
import type { FeatureStatistics, ReferenceStatistics } from '../monitoring/statistics.js';
import { WindowCounter } from '../monitoring/window-counter.js';
import { mulberry32 as random } from '../trainer/data/random.js';
import type { WindowSummary } from '../monitoring/window-summary.js';
import type { EndpointMonitoring } from '../resources/monitoring.js';

const HOUR = 3_600_000;
const WINDOWS = 24;
const INSTANCES = 4;
const REQUESTS_PER_WINDOW = 4_000;
const NUMERIC = 20;
const CATEGORICAL = 5;
const ROUNDS = 5;
const T0 = Date.parse('2026-12-04T00:00:00Z');

const numericName = (i: number) => `n${i}`;
const categoricalName = (i: number) => `c${i}`;

function row(next: () => number, shift: number): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  for (let i = 0; i < NUMERIC; i++) r[numericName(i)] = (next() + next() + next()) * 10 + shift * i;
  for (let i = 0; i < CATEGORICAL; i++) r[categoricalName(i)] = `v${Math.floor(next() * 50)}`;
  return r;
}

function referenceOf(): ReferenceStatistics {
  const next = random(1);
  const rows = Array.from({ length: 5_000 }, () => row(next, 0));
  const features: Record<string, FeatureStatistics> = {};
  for (let i = 0; i < NUMERIC; i++) {
    features[numericName(i)] = numericStatistics(Float64Array.from(rows, (r) => r[numericName(i)] as number));
  }
  for (let i = 0; i < CATEGORICAL; i++) {
    features[categoricalName(i)] = categoricalStatistics(rows.map((r) => r[categoricalName(i)] as string));
  }
  return {
    formatVersion: 1,
    rows: rows.length,
    features,
    prediction: numericStatistics(Float64Array.from(rows, (r) => r.n0 as number)),
  };
}

const settings: EndpointMonitoring = {
  sampleRate: 1,
  window: '1h',
  minSamples: 100,
  drift: { metric: 'psi', threshold: 0.2 },
  retention: '168h',
};

/** The day as the servers leave it: summaries per (window, instance), and the raw log lines. */
function day(reference: ReferenceStatistics): { summaries: WindowSummary[][]; log: string[] } {
  const next = random(2);
  const summaries: WindowSummary[][] = [];
  const log: string[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    const shift = w >= 12 ? 0.5 : 0; // the afternoon drifts
    const counters = Array.from(
      { length: INSTANCES },
      (_, i) =>
        new WindowCounter({ endpoint: 'e', model: 'm', version: 1, instance: `i${i}` }, HOUR, reference),
    );
    for (let q = 0; q < REQUESTS_PER_WINDOW; q++) {
      const instance = row(next, shift);
      const prediction = instance.n0 as number;
      const time = T0 + w * HOUR + Math.floor((q / REQUESTS_PER_WINDOW) * HOUR);
      counters[q % INSTANCES].count([instance], [prediction], time);
      log.push(
        JSON.stringify({
          id: `r${w}-${q}`,
          time: new Date(time).toISOString(),
          endpoint: 'e',
          model: 'm',
          version: 1,
          instances: [instance],
          predictions: [prediction],
        }),
      );
    }
    summaries.push(counters.flatMap((c) => c.takeChanged()));
  }
  return { summaries, log };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export async function runDriftBench(): Promise<string> {
  const reference = referenceOf();
  const { summaries, log } = day(reference);
  const summaryBytes = summaries.flat().reduce((n, s) => n + JSON.stringify(s).length, 0);
  const logBytes = log.reduce((n, l) => n + l.length + 1, 0);
  const now = new Date(T0 + WINDOWS * HOUR);
  const fromSummaries: number[] = [];
  const fromLog: number[] = [];
  let drifted = 0;
  let driftedRecount = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Interleaved, so a noisy moment hits both designs alike.
    let t = performance.now();
    drifted = 0;
    for (let w = 0; w < WINDOWS; w++) {
      const status = scoreWindow(reference, summaries[w], settings, now);
      if (status.drift === 'drifted') drifted++;
    }
    fromSummaries.push(performance.now() - t);

    t = performance.now();
    driftedRecount = 0;
    const counters = new Map<number, WindowCounter>();
    for (const line of log) {
      const record = JSON.parse(line) as { time: string; instances: unknown[]; predictions: unknown[] };
      const time = Date.parse(record.time);
      const w = Math.floor((time - T0) / HOUR);
      let counter = counters.get(w);
      if (!counter) {
        counter = new WindowCounter(
          { endpoint: 'e', model: 'm', version: 1, instance: 'recount' },
          HOUR,
          reference,
        );
        counters.set(w, counter);
      }
      counter.count(record.instances, record.predictions, time);
    }
    for (const counter of counters.values()) {
      const status = scoreWindow(reference, counter.takeChanged(), settings, now);
      if (status.drift === 'drifted') driftedRecount++;
    }
    fromLog.push(performance.now() - t);
  }
  const a = median(fromSummaries);
  const b = median(fromLog);
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
  return [
    `Command: \`npm run bench -- drift\` — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, Node ${process.version}`,
    '',
    `One day of a monitored endpoint: ${WINDOWS} hourly windows, ${INSTANCES} server instances, ${REQUESTS_PER_WINDOW.toLocaleString('en-US')} requests an hour, ${NUMERIC} numeric features (10 bins) and ${CATEGORICAL} categorical ones (50 values) plus the prediction; the afternoon drifts. Scoring every window of the day, median of ${ROUNDS} interleaved rounds.`,
    '',
    '| design | reads | time for the day | windows drifted |',
    '| --- | --- | --- | --- |',
    `| window summaries (mlform) | ${summaries.flat().length} objects, ${mb(summaryBytes)} | ${a.toFixed(1)} ms | ${drifted} / ${WINDOWS} |`,
    `| recount from the raw log (100% logged) | ${log.length.toLocaleString('en-US')} records, ${mb(logBytes)} | ${b.toFixed(0)} ms | ${driftedRecount} / ${WINDOWS} |`,
    '',
    `Summaries are ${(b / a).toFixed(0)}x cheaper to score and ${(logBytes / summaryBytes).toFixed(0)}x smaller to read; both designs agree on which windows drifted. An observation reads only the last two complete windows, so a \`get\` or a plan scores 1/12 of this.`,
  ].join('\n');
}
