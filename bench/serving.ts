/**
 * The model server under load, side by side with its floor in the same run: autocannon on
 * 127.0.0.1, 64 connections, batch-1 `:predict` requests of the quickstart model (cars MLP
 * [64, 32]) for BENCH_SECONDS (default 10) per server, after a 2 s warm-up. Each server is its
 * own process (all started first, idle while another is measured); the measured time is cut into
 * ~2 s slices taken in turns, so load from elsewhere on the machine hits every server alike:
 *
 * - floor: a bare node:http server answering a fixed JSON body;
 * - the model server (node:http front) with dynamic batching on (the default), and off;
 * - the same with a fastify front (the comparison behind the choice of node:http).
 *
 * Run: npm run bench -- serving (BENCH_SECONDS=3 for a quick look)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { selectBackend } from '../artifact/tfjs-backend.js';
import { instanceOf, trainTinyArtifact } from './serving-artifact.js';
import { runLoad, type LoadResult } from './serving-load.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
export const WARMUP_SECONDS = 2;
export const CONNECTIONS = 64;
/** Measured time per server is split into slices of about 2 s, interleaved across servers. */
export const ROUNDS = Math.max(1, Math.round(SECONDS / 2));
export const SLICE_SECONDS = SECONDS / ROUNDS;

export interface Target {
  label: string;
  /** A script of bench/ run by node with tsx, or with `program`, the program's first argument. */
  script: string;
  args: string[];
  /** Another program than node (a Python server). */
  program?: string;
}

export interface Running {
  target: Target;
  child: ChildProcess;
  url: string;
  slices: LoadResult[];
  batchBefore?: { sum: number; count: number };
  batchAfter?: { sum: number; count: number };
  /** /metrics at the end (bench/serving-monitoring.ts). */
  metricsText?: string;
}

export async function startChild(target: Target): Promise<{ child: ChildProcess; url: string }> {
  const script = join(import.meta.dirname, target.script);
  const child = target.program
    ? spawn(target.program, [script, ...target.args], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(process.execPath, ['--import', 'tsx', script, ...target.args], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
  const lines = createInterface({ input: child.stdout! });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    for await (const line of lines) {
      const parsed = JSON.parse(line) as { url?: string };
      if (parsed.url) return { child, url: parsed.url };
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`${target.label}: the server exited before printing its URL`);
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Sum and count of the server's instances-per-model-call histogram. */
async function batchHistogram(url: string): Promise<{ sum: number; count: number } | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sum = /^mlform_serving_batch_size_sum\{[^}]*\} (\S+)$/m.exec(text);
  const count = /^mlform_serving_batch_size_count\{[^}]*\} (\S+)$/m.exec(text);
  return sum && count ? { sum: Number(sum[1]), count: Number(count[1]) } : undefined;
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

function load(running: Running, body: string, seconds: number): Promise<LoadResult> {
  return runLoad({
    url: `${running.url}/v1/models/mpg:predict`,
    connections: CONNECTIONS,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
}

/**
 * Starts every target, warms each up, then loads them in interleaved slices (whatever else the
 * machine does hits every server alike); the hooks run against each server while it is up. All
 * are stopped before it returns.
 */
export async function measureInterleaved(
  targets: Target[],
  body: string,
  hooks: { afterWarmup?(r: Running): Promise<void>; atEnd?(r: Running): Promise<void> } = {},
): Promise<Running[]> {
  const running: Running[] = [];
  try {
    for (const target of targets) running.push({ target, ...(await startChild(target)), slices: [] });
    for (const r of running) await load(r, body, WARMUP_SECONDS);
    for (const r of running) await hooks.afterWarmup?.(r);
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of running) {
        const result = await load(r, body, SLICE_SECONDS);
        if (result.non2xx > 0 || result.errors > 0) {
          throw new Error(
            `${r.target.label}: ${result.non2xx} non-2xx answers and ${result.errors} errors under load`,
          );
        }
        r.slices.push(result);
      }
    }
    for (const r of running) await hooks.atEnd?.(r);
  } finally {
    await Promise.all(running.map((r) => stopChild(r.child)));
  }
  return running;
}

export async function runServingBench(): Promise<string> {
  await selectBackend({ acceleratorRequested: false });
  const dir = await mkdtemp(join(tmpdir(), 'mlform-bench-serving-'));
  try {
    const artifact = await trainTinyArtifact('cars', dir, { epochs: 2 });
    artifact.model.dispose();
    const body = JSON.stringify({ instances: [instanceOf(artifact, artifact.rows[0])] });
    const targets: Target[] = [
      { label: 'floor: bare node:http, fixed JSON body', script: 'serving-floor.ts', args: [] },
      { label: 'model server, batching on (default)', script: 'serving-server.ts', args: [dir, 'batching'] },
      { label: 'model server, batching off', script: 'serving-server.ts', args: [dir, 'no-batching'] },
      { label: 'model server on fastify, batching on', script: 'serving-server.ts', args: [dir, 'fastify'] },
    ];
    const loadBefore = loadavg()[0];
    const running = await measureInterleaved(targets, body, {
      afterWarmup: async (r) => {
        r.batchBefore = await batchHistogram(r.url);
      },
      atEnd: async (r) => {
        r.batchAfter = await batchHistogram(r.url);
      },
    });
    const loadAfter = loadavg()[0];
    const floor = running[0];
    const rows = running.map((r, i) => {
      // Ratio per round (neighbouring slices), then the median: robust to load that comes and goes.
      const ratio = median(r.slices.map((s, k) => s.qps / floor.slices[k].qps));
      const { batchBefore: a, batchAfter: b } = r;
      const batch = a && b && b.count > a.count ? ((b.sum - a.sum) / (b.count - a.count)).toFixed(1) : '';
      return (
        `| ${r.target.label} | ${Math.round(median(r.slices.map((s) => s.qps))).toLocaleString('en')} | ` +
        `${median(r.slices.map((s) => s.p50))} ms | ${median(r.slices.map((s) => s.p99))} ms | ` +
        `${i === 0 ? '1.00x' : `${ratio.toFixed(2)}x`} | ${batch} |`
      );
    });
    return [
      `autocannon, ${CONNECTIONS} connections, 127.0.0.1; batch-1 \`:predict\` of the quickstart model (cars MLP [64, 32], wasm backend), request logs on (written to /dev/null). Each server: ${WARMUP_SECONDS} s warm-up, then ${ROUNDS} slices of ${SLICE_SECONDS} s interleaved with the others; QPS, p50 and p99 are medians over the slices, and QPS / floor the median of per-slice ratios. Load average (1 min) ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after, on ${cpus().length} cores shared with the load generator.`,
      '',
      '| server | QPS | p50 | p99 | QPS / floor | instances per model call |',
      '| --- | --- | --- | --- | --- | --- |',
      ...rows,
      '',
      'Goal: batching on at >= 0.50x the floor QPS with p99 < 25 ms.',
    ].join('\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === import.meta.filename) {
  console.log(await runServingBench());
}
