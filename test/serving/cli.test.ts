/**
 * `mlform serve` as a child process, the way the local provider and Cloud Run run it: flags and
 * environment, JSON log lines on stdout, predictions over HTTP equal to the in-process ones, and
 * SIGTERM (mid-load and with requests in flight) ending in a drain and exit status 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { localStore } from '../../artifact/storage.js';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../../controller/cli/context.js';
import { main } from '../../controller/cli/main.js';
import {
  call,
  expectClose,
  inProcess,
  instanceOf,
  metricValue,
  predict,
  tempDir,
  trainArtifact,
  type TinyArtifact,
} from './helpers.js';
import { waitFor } from '../controller/helpers.js';
import { ONNX_FIXTURES, expectNear, expectedOf } from './onnx-fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** bin/mlform.js when dist/ is at least as new as the serving sources, else the sources via tsx. */
function cliCommand(): string[] {
  const built = join(ROOT, 'dist', 'controller', 'cli', 'commands', 'serve.js');
  const sources = [
    join(ROOT, 'controller', 'cli', 'commands', 'serve.ts'),
    join(ROOT, 'controller', 'cli', 'main.ts'),
    ...readdirSync(join(ROOT, 'serving'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(ROOT, 'serving', f)),
  ];
  try {
    const builtAt = statSync(built).mtimeMs;
    if (sources.every((s) => statSync(s).mtimeMs <= builtAt)) return [join(ROOT, 'bin', 'mlform.js')];
  } catch {
    // not built
  }
  return ['--import', 'tsx', join(ROOT, 'test', 'serving', 'cli-entry.ts')];
}

interface Serve {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: () => string;
  /** Resolves with the first log line that matches. */
  waitFor(message: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  exit: Promise<number | null>;
}

const children: ChildProcess[] = [];

function serve(args: string[], env: Record<string, string> = {}): Serve {
  const child = spawn(process.execPath, [...cliCommand(), 'serve', ...args], {
    cwd: ROOT,
    env: { ...process.env, PORT: '', MODEL_URI: '', MODEL_NAME: '', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  const waiters: { message: string; resolve: (line: Record<string, unknown>) => void }[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout!.on('data', (data: Buffer) => {
    buffer += data.toString();
    let newline;
    while ((newline = buffer.indexOf('\n')) !== -1) {
      const text = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (!text.trim()) continue;
      const line = JSON.parse(text) as Record<string, unknown>;
      lines.push(line);
      for (const w of waiters.filter((w) => w.message === line.message)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    stderr: () => stderr,
    exit,
    waitFor(message, timeoutMs = 30_000) {
      const seen = lines.find((l) => l.message === message);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no "${message}" log line within ${timeoutMs} ms; stderr: ${stderr}`)),
          timeoutMs,
        );
        waiters.push({
          message,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exit.then(() => {
          clearTimeout(timer);
          reject(new Error(`exited before "${message}"; stderr: ${stderr}`));
        });
      });
    },
  };
}

let dir: { path: string; remove(): Promise<void> };
let cars: TinyArtifact;

beforeAll(async () => {
  dir = await tempDir();
  cars = await trainArtifact('cars', join(dir.path, 'versions', '3'));
});

afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

afterAll(async () => {
  await dir?.remove();
});

describe('mlform serve', () => {
  it('serves --model DIR: name from run.json, version from the directory, predictions equal in-process; SIGTERM exits 0', async () => {
    const s = serve(['--model', cars.dir, '--port', '0']);
    const listening = await s.waitFor('listening');
    const url = listening.url as string;
    await s.waitFor('ready');
    expect(listening.model).toBe('mpg');
    const instances = cars.rows.slice(0, 25).map((row) => instanceOf(cars, row));
    const answer = await predict(url, 'mpg', { instances }, 3);
    expect(answer.status).toBe(200);
    expectClose(answer.json.predictions, inProcess(cars, instances));
    expect((await call(`${url}/v2/health/ready`)).status).toBe(200);
    const logged = s.lines.find(
      (l) => l.message === 'request' && l.path === '/v1/models/mpg/versions/3:predict',
    );
    expect(logged).toMatchObject({ severity: 'INFO', status: 200, version: '3', instances: 25 });
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
    expect(s.lines.map((l) => l.message)).toEqual(expect.arrayContaining(['draining', 'stopped']));
  });

  it("serves an ONNX artifact (--model DIR with artifact.json format onnx): PyTorch's predictions over v1 and v2", async () => {
    const { instances, predictions } = expectedOf('iris-logits');
    const s = serve(['--model', join(ONNX_FIXTURES, 'iris-logits'), '--port', '0', '--name', 'iris']);
    const url = (await s.waitFor('listening')).url as string;
    await s.waitFor('ready');
    const answer = await predict(url, 'iris', { instances });
    expect(answer.status, answer.text).toBe(200);
    expectNear(answer.json.predictions, predictions);
    const metadata = await call(`${url}/v2/models/iris`);
    expect(metadata.json.platform).toBe('onnxruntime_onnx');
    const inputs = Object.keys(instances[0]).map((name) => ({
      name,
      datatype: 'FP32',
      shape: [instances.length, 1],
      data: instances.map((i) => i[name]),
    }));
    const infer = await call(`${url}/v2/models/iris/infer`, { body: JSON.stringify({ inputs }) });
    expect(infer.status, infer.text).toBe(200);
    const [label] = infer.json.outputs as { data: string[] }[];
    expect(label.data).toEqual(predictions.map((p) => (p as { label: string }).label));
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  });

  it('exits 0 on SIGTERM in the middle of loading, without ever turning ready', async () => {
    const s = serve(['--model', cars.dir, '--port', '0']);
    await s.waitFor('listening');
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
    const draining = s.lines.find((l) => l.message === 'draining');
    expect(draining?.duringLoad).toBe(true);
    expect(s.lines.some((l) => l.message === 'ready')).toBe(false);
  });

  it('serves Cloud Run style (MODEL_URI, PORT, MODEL_NAME) and answers requests queued in a batch on SIGTERM', async () => {
    // A 10 s batch window (the maximum): the requests wait in the queue until SIGTERM makes the
    // server run them.
    const s = serve(['--max-batch-size', '1000', '--batch-timeout-micros', '10000000'], {
      MODEL_URI: cars.dir,
      PORT: '0',
      MODEL_NAME: 'cars-api',
    });
    const url = (await s.waitFor('listening')).url as string;
    await s.waitFor('ready');
    const requests = Array.from({ length: 6 }, (_, i) => [instanceOf(cars, cars.rows[i])]);
    const sent = performance.now();
    const answers = requests.map((instances) => predict(url, 'cars-api', { instances }));
    // All six have reached the server (in flight: the scrape itself is the seventh).
    await waitFor(
      'six predictions in flight',
      async () =>
        (metricValue((await call(`${url}/metrics`)).text, 'mlform_serving_inflight_requests') ?? 0) >= 7,
      8_000,
      20,
    );
    s.child.kill('SIGTERM');
    const settled = await Promise.all(answers);
    // Answered by the drain, not by the window running out (10 s after the first arrived).
    expect(performance.now() - sent).toBeLessThan(9_000);
    settled.forEach((answer, i) => {
      expect(answer.status).toBe(200);
      expectClose(answer.json.predictions, inProcess(cars, requests[i]));
    });
    expect(await s.exit).toBe(0);
    expect(s.lines.find((l) => l.message === 'draining')?.duringLoad).toBe(false);
  });

  it('monitors Cloud Run style (MLFORM_SERVE_MONITORING, K_REVISION): the drain writes the log and the window', async () => {
    const root = join(dir.path, 'monitoring-cli');
    const s = serve([], {
      MODEL_URI: cars.dir,
      PORT: '0',
      MODEL_NAME: 'mpg',
      K_REVISION: 'mpg-api-v3',
      MLFORM_SERVE_MONITORING: JSON.stringify({
        root,
        endpoint: 'mpg-api',
        sampleRate: 1,
        windowSeconds: 3600,
      }),
    });
    const listening = await s.waitFor('listening');
    expect(listening.monitoringInstance).toMatch(/^mpg-api-v3-[0-9a-f]{8}$/);
    await s.waitFor('ready');
    const answer = await predict(listening.url as string, 'mpg', {
      instances: [instanceOf(cars, cars.rows[0])],
    });
    expect(answer.status).toBe(200);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
    const logs = await localStore.list(join(root, 'logs'));
    expect(logs).toHaveLength(1);
    expect(await readFile(logs[0], 'utf8')).toContain(answer.headers.get('x-mlform-request-id'));
    const windows = await localStore.list(join(root, 'windows'));
    expect(windows.map((w) => w.split('/').pop())).toEqual([
      `v3-${String(listening.monitoringInstance)}.json`,
    ]);
  });
});

/** `mlform serve ...` in this process: for the cases that end before serving anything. */
async function serveInProcess(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const ctx = createContext({
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { NO_COLOR: '1', ...env },
  });
  const code = await main(['node', 'mlform', 'serve', ...args], ctx);
  return { code, stdout, stderr };
}

describe('mlform serve refusals', () => {
  it('exits 1 with field paths for an invalid config file', async () => {
    const file = join(dir.path, 'bad.json');
    await writeFile(
      file,
      JSON.stringify({
        versions: [{ version: 1, uri: 'versions/3', percent: 150 }],
        batching: { maxBatchSise: 3 },
      }),
    );
    const { code, stderr } = await serveInProcess(['--config', file]);
    expect(code).toBe(1);
    expect(stderr).toContain('versions[0].percent');
    expect(stderr).toContain('batching.maxBatchSise');
    expect(stderr).toContain('maxBatchSize');
  });

  it('exits 1 when MLFORM_SERVE_MONITORING is not JSON or not a valid monitoring section', async () => {
    const notJson = await serveInProcess(['--model', cars.dir], { MLFORM_SERVE_MONITORING: '{root' });
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/\$MLFORM_SERVE_MONITORING is not JSON/);
    const invalid = await serveInProcess(['--model', cars.dir], {
      MLFORM_SERVE_MONITORING: JSON.stringify({ root: '/tmp/x', endpoint: 'e', windowSeconds: 5 }),
    });
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/monitoring\.windowSeconds/);
  });

  it('exits 1 when there is nothing to serve, or --model and --config both', async () => {
    const nothing = await serveInProcess([]);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain('nothing to serve');
    const both = await serveInProcess(['--model', cars.dir, '--config', 'x.json']);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('not both');
  });

  it('exits 1 on a bad port and on a bad flag value', async () => {
    const port = await serveInProcess(['--model', cars.dir, '--port', 'http']);
    expect(port.code).toBe(1);
    expect(port.stderr).toContain('port number');
    const batch = await serveInProcess(['--model', cars.dir, '--max-batch-size', '0']);
    expect(batch.code).toBe(1);
    expect(batch.stderr).toContain('batching.maxBatchSize');
  });

  it('exits 1 with a CRITICAL log line when the artifact cannot be loaded', async () => {
    const { code, stdout } = await serveInProcess(['--model', join(dir.path, 'missing'), '--port', '0']);
    expect(code).toBe(1);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.severity === 'CRITICAL')?.err).toContain('preprocess.json');
    expect(lines.at(-1)?.message).toBe('stopped');
  });
});
