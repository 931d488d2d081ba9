/**
 * What monitoring costs the model server (issue 15): the same server with monitoring off, on at
 * 10% sampling and on at 100%, side by side in one run, in interleaved slices (bench/serving.ts
 * runs them: same load, artifact, connections). With monitoring on every request is counted into
 * the window (statistics.json written here from the training rows, 10 quantile bins per numeric
 * feature) and remembered for feedback; the sampled ones are logged, flushed to local files.
 * Also measured in process: WindowCounter.count alone, per instance.
 *
 * Run: npm run bench -- serving-monitoring (BENCH_SECONDS=3 for a quick look)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../artifact/tfjs-backend.js';
import type { FeatureStatistics, ReferenceStatistics } from '../monitoring/statistics.js';
import { WindowCounter } from '../monitoring/window-counter.js';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { normalizeServingConfig, type MonitoringConfig } from '../serving/config.js';
import { ServingMonitor } from '../serving/monitoring.js';
import { ServingMetrics } from '../serving/serving-metrics.js';
import { instanceOf, trainTinyArtifact, type TinyArtifact } from './serving-artifact.js';
import {
  CONNECTIONS,
  ROUNDS,
  SLICE_SECONDS,
  WARMUP_SECONDS,
  measureInterleaved,
  median,
  type Target,
} from './serving.js';

/** A reference of the training rows: what the trainer's statistics.json holds, for the bench. */
function referenceOf(artifact: TinyArtifact): ReferenceStatistics {
  const features: Record<string, FeatureStatistics> = {};
  for (const f of artifact.preprocess.features) {
    const values = artifact.rows.map((r) => r[f.name]);
    const numbers = values.filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
    if (f.type === 'numeric' && numbers.length > 0) {
      const edges = [
        ...new Set(
          Array.from({ length: 19 }, (_, i) => numbers[Math.floor(((i + 1) * numbers.length) / 20)]),
        ),
      ];
      features[f.name] = {
        type: 'numeric',
        count: numbers.length,
        missing: values.length - numbers.length,
        edges,
        counts: new Array<number>(edges.length + 1).fill(1),
        min: numbers[0],
        max: numbers[numbers.length - 1],
        mean: 0,
        std: 1,
      };
    } else {
      const categories: Record<string, number> = {};
      for (const v of values)
        if (v !== null && v !== undefined) categories[String(v)] = (categories[String(v)] ?? 0) + 1;
      features[f.name] = { type: 'categorical', count: values.length, missing: 0, categories, other: 0 };
    }
  }
  const prediction: FeatureStatistics = {
    type: 'numeric',
    count: 1,
    missing: 0,
    edges: [15, 20, 25, 30, 35],
    counts: [1, 1, 1, 1, 1, 1],
    min: 9,
    max: 46,
    mean: 23,
    std: 7,
  };
  return { formatVersion: 1, rows: artifact.rows.length, features, prediction };
}

/** Nanoseconds per call of `run(i)`, after as many calls of warm-up. */
function nsPerCall(n: number, run: (i: number) => void): number {
  for (let i = 0; i < n; i++) run(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) run(i);
  return Number(process.hrtime.bigint() - started) / n;
}

/**
 * In process, batch-1 requests as the server makes them: WindowCounter.count alone, and the whole
 * request-path work of monitoring (ServingMonitor.observe: counting, remembering the request for
 * feedback, the sampling draw; the log write itself happens off the request path).
 */
async function requestPathCost(
  artifact: TinyArtifact,
  reference: ReferenceStatistics,
  dir: string,
): Promise<{ count: number; observe: number }> {
  const counter = new WindowCounter(
    { endpoint: 'e', model: 'mpg', version: 1, instance: 'bench' },
    3_600_000,
    reference,
  );
  const instances = artifact.rows.slice(0, 100).map((r) => [instanceOf(artifact, r)]);
  const now = Date.now();
  const count = nsPerCall(200_000, (i) => counter.count(instances[i % 100], [23.5], now));
  const monitor = new ServingMonitor({
    config: { ...normalizedMonitoring(dir), sampleRate: 0 },
    model: 'mpg',
    metrics: new ServingMetrics('mpg', { processMetrics: false }),
    log: pino({ level: 'silent' }),
  });
  await monitor.addVersion(1, join(dir, 'model'), 100);
  const ids = Array.from({ length: 400_000 }, () => randomUUID());
  const observe = nsPerCall(200_000, (i) => monitor.observe(1, instances[i % 100], [20 + (i % 10)], ids[i]));
  return { count, observe };
}

function normalizedMonitoring(dir: string): MonitoringConfig {
  const { config } = normalizeServingConfig({
    versions: [{ uri: join(dir, 'model') }],
    monitoring: { root: join(dir, 'root-inprocess'), endpoint: 'mpg-api' },
  });
  if (!config?.monitoring) throw new Error('bench: invalid monitoring config');
  return config.monitoring;
}

export async function runServingMonitoringBench(): Promise<string> {
  await selectBackend({ acceleratorRequested: false });
  const dir = await mkdtemp(join(tmpdir(), 'mlform-bench-monitoring-'));
  try {
    const artifactDir = join(dir, 'model');
    const artifact = await trainTinyArtifact('cars', artifactDir, { epochs: 2 });
    artifact.model.dispose();
    const reference = referenceOf(artifact);
    await writeFile(join(artifactDir, 'statistics.json'), JSON.stringify(reference));
    const cost = await requestPathCost(artifact, reference, dir);
    const body = JSON.stringify({ instances: [instanceOf(artifact, artifact.rows[0])] });
    const targets: Target[] = [
      { label: 'monitoring off', script: 'serving-server.ts', args: [artifactDir, 'batching'] },
      {
        label: 'monitoring on, 10% sampled',
        script: 'serving-server.ts',
        args: [artifactDir, 'monitoring:0.1', join(dir, 'root-10')],
      },
      {
        label: 'monitoring on, 100% sampled',
        script: 'serving-server.ts',
        args: [artifactDir, 'monitoring:1', join(dir, 'root-100')],
      },
    ];
    const loadBefore = loadavg()[0];
    const running = await measureInterleaved(targets, body, {
      atEnd: async (r) => {
        r.metricsText = await (await fetch(`${r.url}/metrics`)).text();
      },
    });
    const loadAfter = loadavg()[0];
    const overloaded = Math.max(loadBefore, loadAfter) > cpus().length * 1.5;
    const off = running[0];
    const rows = running.map((r, i) => {
      const ratio = median(r.slices.map((s, k) => s.qps / off.slices[k].qps));
      const p99 = median(r.slices.map((s) => s.p99));
      const logged = /^mlform_serving_monitoring_logged_total\{[^}]*\} (\S+)$/m.exec(
        r.metricsText ?? '',
      )?.[1];
      const dropped = [
        ...(r.metricsText ?? '').matchAll(/^mlform_serving_monitoring_dropped_total\{[^}]*\} (\S+)$/gm),
      ].reduce((sum, m) => sum + Number(m[1]), 0);
      return (
        `| ${r.target.label} | ${Math.round(median(r.slices.map((s) => s.qps))).toLocaleString('en')} | ` +
        `${median(r.slices.map((s) => s.p50))} ms | ${p99} ms | ${i === 0 ? '1.00x' : `${ratio.toFixed(2)}x`} | ` +
        `${i === 0 ? '' : `${Number(logged ?? 0).toLocaleString('en')} / ${dropped}`} |`
      );
    });
    const features = Object.keys(reference.features).length;
    const setting =
      `autocannon, ${CONNECTIONS} connections, 127.0.0.1; batch-1 \`:predict\` of the quickstart model (cars MLP [64, 32]), batching on. ` +
      `Each server: ${WARMUP_SECONDS} s warm-up, then ${ROUNDS} slices of ${SLICE_SECONDS} s interleaved with the others; QPS, p50 and p99 are medians over the slices, QPS / off the median of per-slice ratios. ` +
      `Monitoring on: every request counted into ${features} features' bins and remembered for feedback, the sampled ones logged (flushed every 1,000 records or 10 s to local files). ` +
      `Load average (1 min) ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after, on ${cpus().length} cores shared with the load generator.`;
    return `${setting}

| server | QPS | p50 | p99 | QPS / off | logged / dropped |
| --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

In process, per batch-1 request: WindowCounter.count ${cost.count.toFixed(0)} ns (${features} features and the prediction); everything monitoring does on the request path (ServingMonitor.observe: counting, remembering the request for feedback, the sampling draw) ${cost.observe.toFixed(0)} ns, ${(((cost.observe * 1e-9 * off.slices.reduce((sum, x) => sum + x.qps, 0)) / off.slices.length) * 100).toFixed(1)}% of the time per request at the off server's mean QPS.${overloaded ? `\n\n**The machine was overloaded** (load average ${loadBefore.toFixed(1)} on ${cpus().length} cores): the HTTP ratios above are noise; the in-process figures are the better guide. Rerun on a quiet machine.` : ''}

Goal: 10% sampling within 5% of off (QPS / off >= 0.95).`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === import.meta.filename) {
  console.log(await runServingMonitoringBench());
}
