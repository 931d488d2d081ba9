/**
 * Which ONNX runtime the model server uses: onnxruntime-node (native CPU binaries) against
 * onnxruntime-web (WebAssembly, in Node too), in one run, on the same two MLPs exported by
 * PyTorch: cars-size (10 inputs, 64-64 hidden, 1 output) and a wider one (256 inputs, 512-512
 * hidden, 10 outputs). Per runtime and model: session load time (from bytes, median of 5),
 * single-row latency (median and p99 of session.run), batch-64 throughput (rows/s), and the
 * installed size of the package with onnxruntime-common. One thread each (the server's setting).
 *
 *   npm run bench -- onnx-runtime
 *
 * Not part of CI. Needs Debian's python3-torch (BENCH_PYTHON overrides /usr/bin/python3) to export
 * the models. onnxruntime-web is not a dependency: `npm i --no-save onnxruntime-web@1.31.1`
 * first, else its rows say so. BENCH_SECONDS (default 2) bounds each throughput measurement.
 */
import { spawnSync } from 'node:child_process';
import { readdir, readFile, rm, stat, mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const RUNTIMES = ['onnxruntime-node', 'onnxruntime-web'] as const;
const MODELS = [
  { name: 'cars MLP 10-64-64-1', file: 'cars.onnx', inputs: 10, outputs: 1, hidden: 64 },
  { name: 'wide MLP 256-512-512-10', file: 'wide.onnx', inputs: 256, outputs: 10, hidden: 512 },
];

const EXPORT = `
import sys, torch
torch.manual_seed(0)
for path, i, h, o in [(sys.argv[1] + '/cars.onnx', 10, 64, 1), (sys.argv[1] + '/wide.onnx', 256, 512, 10)]:
    net = torch.nn.Sequential(torch.nn.Linear(i, h), torch.nn.ReLU(), torch.nn.Linear(h, h), torch.nn.ReLU(), torch.nn.Linear(h, o)).eval()
    torch.onnx.export(net, (torch.zeros(2, i),), path, input_names=['x'], output_names=['y'],
                      dynamic_axes={'x': {0: 'n'}, 'y': {0: 'n'}}, opset_version=13)
`;

interface Session {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown }>>;
  release(): Promise<void>;
}
interface Runtime {
  InferenceSession: { create(bytes: Uint8Array, options: Record<string, unknown>): Promise<Session> };
  Tensor: new (type: string, data: Float32Array, dims: number[]) => unknown;
  env: { wasm?: { numThreads?: number } };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const quantile = (xs: number[], q: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];

async function sizeOf(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(path)) total += await sizeOf(join(path, entry));
  return total;
}

async function loadRuntime(name: string): Promise<{ runtime: Runtime; dir: string } | string> {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    return `not installed (npm i --no-save ${name}@1.31.1)`;
  }
  const runtime = (await import(name)) as Runtime;
  let dir = dirname(entry);
  while (!dir.endsWith(name)) dir = dirname(dir);
  return { runtime, dir };
}

async function measure(runtime: Runtime, bytes: Uint8Array, inputs: number) {
  const options = {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  const loads: number[] = [];
  let session: Session | undefined;
  for (let i = 0; i < 5; i++) {
    await session?.release();
    const started = performance.now();
    session = await runtime.InferenceSession.create(bytes, options);
    loads.push(performance.now() - started);
  }
  const s = session!;
  const feeds = (rows: number) => ({
    x: new runtime.Tensor('float32', new Float32Array(rows * inputs).fill(0.5), [rows, inputs]),
  });
  const one = feeds(1);
  for (let i = 0; i < 200; i++) await s.run(one);
  const latencies: number[] = [];
  const until = performance.now() + SECONDS * 1000;
  while (performance.now() < until && latencies.length < 20_000) {
    const started = performance.now();
    await s.run(one);
    latencies.push(performance.now() - started);
  }
  const batch = feeds(64);
  for (let i = 0; i < 50; i++) await s.run(batch);
  let rows = 0;
  const started = performance.now();
  while (performance.now() - started < SECONDS * 1000) {
    await s.run(batch);
    rows += 64;
  }
  const seconds = (performance.now() - started) / 1000;
  await s.release();
  return {
    load: median(loads),
    p50: median(latencies),
    p99: quantile(latencies, 0.99),
    rowsPerSecond: rows / seconds,
  };
}

export async function runOnnxRuntimeBench(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mlform-bench-onnx-'));
  try {
    const exported = spawnSync(PYTHON, ['-c', EXPORT, dir], { encoding: 'utf8' });
    if (exported.status !== 0) {
      return `skipped: cannot export the models with ${PYTHON} (python3-torch): ${exported.stderr.trim().split('\n').pop()}`;
    }
    const lines = [
      `Load average at start: ${loadavg()[0].toFixed(1)}; one thread per session; ${SECONDS} s per measurement.`,
      '',
      '| runtime | installed | model | session load | 1 row p50 | 1 row p99 | batch 64 |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    ];
    for (const name of RUNTIMES) {
      const loaded = await loadRuntime(name);
      if (typeof loaded === 'string') {
        lines.push(`| ${name} | ${loaded} | | | | | |`);
        continue;
      }
      const { runtime, dir: packageDir } = loaded;
      if (runtime.env.wasm) runtime.env.wasm.numThreads = 1;
      const installed =
        (await sizeOf(packageDir)) + (await sizeOf(join(dirname(packageDir), 'onnxruntime-common')));
      for (const model of MODELS) {
        const m = await measure(runtime, await readFile(join(dir, model.file)), model.inputs);
        lines.push(
          `| ${name} | ${(installed / 2 ** 20).toFixed(0)} MiB | ${model.name} | ${m.load.toFixed(1)} ms | ${(m.p50 * 1000).toFixed(0)} µs | ${(m.p99 * 1000).toFixed(0)} µs | ${Math.round(m.rowsPerSecond).toLocaleString('en-US')} rows/s |`,
        );
      }
    }
    return lines.join('\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
