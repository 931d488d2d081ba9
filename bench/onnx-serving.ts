/**
 * One MLP served four ways, side by side in one run (issue 13): the builtin trainer's cars MLP
 * ([64, 32], the quickstart's network and data) as
 *
 * 1. mlform serving the builtin tfjs artifact;
 * 2. mlform serving its ONNX export (bench/fastapi/export_builtin.py: the same weights through
 *    torch.onnx.export, the same preprocess.json, input kind `encoded`);
 * 3. the node:http floor (a fixed JSON body, bench/serving-floor.ts);
 * 4. the peer a Python team would write: FastAPI + PyTorch under uvicorn, one worker, uvloop and
 *    httptools (bench/fastapi/server.py), the same weights and preprocessing.
 *
 * Before measuring, the validation set is sent to each server: the ONNX model's predictions must
 * equal PyTorch's within 1e-5 (and tfjs's are reported). Then autocannon, the same batch-1 body,
 * 64 connections, BENCH_SECONDS (default 10) per server in ~2 s slices taken in turns after a 2 s
 * warm-up. Needs /usr/bin/python3 with torch, fastapi, uvicorn, uvloop and httptools (Debian:
 * python3-torch python3-fastapi python3-uvicorn python3-uvloop python3-httptools).
 *
 * Run: npm run bench -- onnx-serving (writes its section of BENCHMARKS.md)
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { selectBackend } from '../artifact/tfjs-backend.js';
import { instanceOf, trainTinyArtifact } from './serving-artifact.js';
import { runLoad, type LoadResult } from './serving-load.js';
import { median, startChild, stopChild, type Target } from './serving.js';

const PYTHON = '/usr/bin/python3';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const CONNECTIONS = 64;
const ROUNDS = Math.max(1, Math.round(SECONDS / 2));
const SLICE_SECONDS = SECONDS / ROUNDS;
/** Largest |ONNX - PyTorch| accepted on the validation set, in mpg. */
const TOLERANCE = 1e-5;
const PREDICT_PATH = '/v1/models/mpg:predict';

interface Server {
  target: Target;
  url: string;
  slices: LoadResult[];
}

async function predict(url: string, instances: unknown[]): Promise<number[]> {
  const out: number[] = [];
  // In requests of 32: within the model server's default batch limit.
  for (let i = 0; i < instances.length; i += 32) {
    const response = await fetch(`${url}${PREDICT_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: instances.slice(i, i + 32) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}: ${text}`);
    out.push(...(JSON.parse(text) as { predictions: number[] }).predictions);
  }
  return out;
}

const maxAbsDifference = (a: number[], b: number[]): number =>
  a.reduce((max, value, i) => Math.max(max, Math.abs(value - b[i])), 0);

/** The Python modules the peer needs, checked up front so a missing one is named. */
async function checkPython(): Promise<void> {
  const modules = ['torch', 'fastapi', 'uvicorn', 'uvloop', 'httptools'];
  try {
    await promisify(execFile)(PYTHON, ['-c', `import ${modules.join(', ')}`]);
  } catch (e) {
    throw new Error(
      `onnx-serving needs ${PYTHON} with ${modules.join(', ')} (apt-get install python3-torch python3-fastapi python3-uvicorn python3-uvloop python3-httptools): ${(e as Error).message}`,
    );
  }
}

export async function runOnnxServingBench(): Promise<string> {
  await checkPython();
  await selectBackend({ acceleratorRequested: false });
  const dir = await mkdtemp(join(tmpdir(), 'mlform-bench-onnx-'));
  const servers: Server[] = [];
  const children: Awaited<ReturnType<typeof startChild>>['child'][] = [];
  try {
    const tfjsDir = join(dir, 'tfjs');
    const onnxDir = join(dir, 'onnx');
    const artifact = await trainTinyArtifact('cars', tfjsDir, { epochs: 30 });
    artifact.model.dispose();
    await promisify(execFile)(PYTHON, [
      join(import.meta.dirname, 'fastapi', 'export_builtin.py'),
      tfjsDir,
      onnxDir,
    ]);
    const targets: Target[] = [
      { label: 'floor: bare node:http, fixed JSON body', script: 'serving-floor.ts', args: [] },
      { label: 'mlform serve, builtin tfjs artifact (wasm)', script: 'serving-server.ts', args: [tfjsDir] },
      { label: 'mlform serve, its ONNX export', script: 'serving-server.ts', args: [onnxDir] },
      {
        label: 'FastAPI + PyTorch, uvicorn (1 worker, uvloop, httptools)',
        script: join('fastapi', 'server.py'),
        args: [tfjsDir, 'mpg'],
        program: PYTHON,
      },
    ];
    for (const target of targets) {
      const { child, url } = await startChild(target);
      children.push(child);
      servers.push({ target, url, slices: [] });
    }
    const [, tfjs, onnx, torch] = servers;

    const validation = artifact.validationRows.map((row) => instanceOf(artifact, row));
    const byTorch = await predict(torch.url, validation);
    const onnxDiff = maxAbsDifference(await predict(onnx.url, validation), byTorch);
    const tfjsDiff = maxAbsDifference(await predict(tfjs.url, validation), byTorch);
    console.log(
      `validation set (${validation.length} rows): max |ONNX - PyTorch| = ${onnxDiff.toExponential(2)}, max |tfjs - PyTorch| = ${tfjsDiff.toExponential(2)}`,
    );
    if (!(onnxDiff <= TOLERANCE)) {
      throw new Error(
        `the ONNX export differs from PyTorch by ${onnxDiff} on the validation set (> ${TOLERANCE.toExponential(0)})`,
      );
    }

    const body = JSON.stringify({ instances: [instanceOf(artifact, artifact.rows[0])] });
    const load = (server: Server, seconds: number) =>
      runLoad({
        url: `${server.url}${PREDICT_PATH}`,
        connections: CONNECTIONS,
        duration: seconds,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
    const loadBefore = loadavg()[0];
    for (const server of servers) await load(server, WARMUP_SECONDS);
    // Slices taken in turns: load from elsewhere on the machine hits every server alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const server of servers) {
        const result = await load(server, SLICE_SECONDS);
        if (result.non2xx > 0 || result.errors > 0)
          throw new Error(
            `${server.target.label}: ${result.non2xx} non-2xx, ${result.errors} errors under load`,
          );
        server.slices.push(result);
      }
    }
    const loadAfter = loadavg()[0];
    const floor = servers[0];
    const rows = servers.map((server) => {
      const ratio = median(server.slices.map((s, k) => s.qps / floor.slices[k].qps));
      const qps = Math.round(median(server.slices.map((s) => s.qps))).toLocaleString('en');
      return `| ${server.target.label} | ${qps} | ${median(server.slices.map((s) => s.p50))} ms | ${median(server.slices.map((s) => s.p99))} ms | ${ratio.toFixed(2)}x |`;
    });
    return [
      `The builtin trainer's cars MLP ([64, 32], ${artifact.preprocess.encodedWidth} encoded inputs, 30 epochs) served four ways. autocannon, ${CONNECTIONS} connections, 127.0.0.1, the same batch-1 \`:predict\` body for all; each server: ${WARMUP_SECONDS} s warm-up, then ${ROUNDS} slices of ${SLICE_SECONDS} s interleaved with the others; QPS, p50 and p99 are medians over the slices, QPS / floor the median of per-slice ratios. mlform: dynamic batching on (the default), request logs written to /dev/null; uvicorn: access log off, torch on 1 thread. Load average (1 min) ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after, on ${cpus().length} cores shared with the load generator.`,
      '',
      `Same predictions: on the validation set (${validation.length} rows) max |ONNX - PyTorch| = ${onnxDiff.toExponential(2)} mpg (must be <= ${TOLERANCE.toExponential(0)}), max |tfjs - PyTorch| = ${tfjsDiff.toExponential(2)} mpg.`,
      '',
      '| server | QPS | p50 | p99 | QPS / floor |',
      '| --- | --- | --- | --- | --- |',
      ...rows,
    ].join('\n');
  } finally {
    await Promise.all(children.map((child) => stopChild(child)));
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === import.meta.filename) {
  console.log(await runOnnxServingBench());
}
