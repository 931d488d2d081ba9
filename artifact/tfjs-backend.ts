/**
 * Chooses the TensorFlow.js backend a training runs on, and says up front which networks that
 * backend can train.
 *
 * Order: `@tensorflow/tfjs-node-gpu` (only counts as a GPU when TensorFlow really sees a CUDA
 * device), `@tensorflow/tfjs-node`, `@tensorflow/tfjs-backend-wasm`, the plain JS `cpu` backend.
 * The native packages are optional dependencies whose install downloads libtensorflow, so they
 * are imported dynamically and their absence is normal. A run that asks for an accelerator and
 * ends up without a GPU fails: it never trains silently on the CPU (docs/architecture.md "Trainer and
 * model server").
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { error, type Diagnostic } from '../resources/diagnostic.js';
import type { BuiltinTrainer } from '../resources/training-run.js';

export const BACKEND_NAMES = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** What a run records about where it trained (metrics.json, run.json). */
export interface BackendInfo {
  /** tfjs backend name: `tensorflow` (tfjs-node / tfjs-node-gpu), `wasm` or `cpu`. */
  backend: string;
  /** Human-readable devices, e.g. `GPU:0 NVIDIA L4` or `CPU (wasm simd, 1 thread) x2 Intel Xeon`. */
  devices: string[];
  /** npm package that provides the backend. */
  package: string;
}

export interface SelectBackendOptions {
  /** True when the spec sets `resources.accelerator`; then only a visible GPU is acceptable. */
  acceleratorRequested: boolean;
  /** The requested accelerator, for the error message. */
  accelerator?: { type: string; count: number };
  /** Tried first; the usual order follows when it is unavailable. `MLFORM_BACKEND` overrides it. */
  prefer?: string;
  /** Defaults to process.env; `MLFORM_BACKEND=cpu|wasm|tensorflow` forces exactly one backend. */
  env?: Record<string, string | undefined>;
}

export class AcceleratorUnavailableError extends Error {
  override name = 'AcceleratorUnavailableError';
}

export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';
}

interface Candidate {
  name: BackendName;
  package: string;
  /** Loads and activates the backend; returns why not when it cannot. */
  activate(): Promise<{ ok: true; gpu: boolean } | { ok: false; reason: string }>;
}

const GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';
const NODE_PACKAGE = '@tensorflow/tfjs-node';
const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';

/** A non-literal specifier keeps TypeScript from demanding types for packages that may be absent. */
async function importOptional(specifier: string): Promise<unknown> {
  return import(specifier);
}

const describe = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0] : String(e));

/** tfjs-node's backend object exposes `isUsingGpuDevice` (set from the native binding). */
function tensorflowSeesGpu(): boolean {
  const backend: unknown = tf.backend();
  return (
    typeof backend === 'object' &&
    backend !== null &&
    'isUsingGpuDevice' in backend &&
    backend.isUsingGpuDevice === true
  );
}

function nativeCandidate(pkg: string): Candidate {
  return {
    name: 'tensorflow',
    package: pkg,
    async activate() {
      try {
        await importOptional(pkg);
      } catch (e) {
        return { ok: false, reason: `${pkg} is not usable (${describe(e)})` };
      }
      if (!(await tf.setBackend('tensorflow'))) return { ok: false, reason: `${pkg} failed to initialise` };
      await tf.ready();
      return { ok: true, gpu: tensorflowSeesGpu() };
    },
  };
}

let wasmPathsSet = false;

const wasmCandidate: Candidate = {
  name: 'wasm',
  package: WASM_PACKAGE,
  async activate() {
    try {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // In Node the .wasm files are read from disk next to the package's main file. setWasmPaths
      // throws once the backend is initialised, so it is called once per process.
      if (!wasmPathsSet) {
        const main = createRequire(import.meta.url).resolve(WASM_PACKAGE);
        wasm.setWasmPaths(`${dirname(main)}/`);
        wasmPathsSet = true;
      }
    } catch (e) {
      return { ok: false, reason: `${WASM_PACKAGE} is not usable (${describe(e)})` };
    }
    if (!(await tf.setBackend('wasm'))) return { ok: false, reason: `${WASM_PACKAGE} failed to initialise` };
    await tf.ready();
    return { ok: true, gpu: false };
  },
};

const cpuCandidate: Candidate = {
  name: 'cpu',
  package: '@tensorflow/tfjs-backend-cpu',
  async activate() {
    if (!(await tf.setBackend('cpu'))) return { ok: false, reason: 'the cpu backend failed to initialise' };
    await tf.ready();
    return { ok: true, gpu: false };
  },
};

function candidatesFor(name: BackendName): Candidate[] {
  switch (name) {
    case 'tensorflow':
      return [nativeCandidate(GPU_PACKAGE), nativeCandidate(NODE_PACKAGE)];
    case 'wasm':
      return [wasmCandidate];
    case 'cpu':
      return [cpuCandidate];
  }
}

const isBackendName = (value: string): value is BackendName =>
  (BACKEND_NAMES as readonly string[]).includes(value);

/**
 * Activates the best available backend (globally, for this process: tfjs has one active backend)
 * and describes it. Throws AcceleratorUnavailableError when an accelerator was requested and no
 * GPU is visible, BackendUnavailableError when a forced backend cannot be loaded.
 */
export async function selectBackend(options: SelectBackendOptions): Promise<BackendInfo> {
  const env = options.env ?? process.env;
  const forced = env.MLFORM_BACKEND?.trim();
  let order: Candidate[];
  if (forced) {
    if (!isBackendName(forced)) {
      throw new BackendUnavailableError(
        `MLFORM_BACKEND="${forced}" is not a backend; use one of ${BACKEND_NAMES.join(', ')}`,
      );
    }
    order = candidatesFor(forced);
  } else {
    const preferred = options.prefer && isBackendName(options.prefer) ? candidatesFor(options.prefer) : [];
    order = [...preferred, ...BACKEND_NAMES.flatMap(candidatesFor)].filter(
      (c, i, all) => all.findIndex((o) => o.package === c.package) === i,
    );
  }

  const reasons: string[] = [];
  for (const candidate of order) {
    const result = await candidate.activate();
    if (!result.ok) {
      reasons.push(result.reason);
      continue;
    }
    if (options.acceleratorRequested && !result.gpu) {
      // A CPU-only backend is the normal outcome of a missing GPU, not a reason to keep looking:
      // the remaining candidates are CPU-only too.
      throw new AcceleratorUnavailableError(acceleratorMessage(options, candidate, reasons));
    }
    return {
      backend: candidate.name,
      devices: await devicesFor(candidate, result.gpu),
      package: candidate.package,
    };
  }
  const message = forced
    ? `MLFORM_BACKEND=${forced} but that backend cannot be loaded: ${reasons.join('; ')}`
    : `no TensorFlow.js backend could be loaded: ${reasons.join('; ')}`;
  if (options.acceleratorRequested) throw new AcceleratorUnavailableError(message);
  throw new BackendUnavailableError(message);
}

function acceleratorMessage(options: SelectBackendOptions, chosen: Candidate, reasons: string[]): string {
  const accelerator = options.accelerator
    ? `${options.accelerator.type} x${options.accelerator.count}`
    : 'a GPU';
  const head =
    `resources.accelerator asks for ${accelerator} but no GPU is visible to TensorFlow.js ` +
    `(backend ${chosen.name}); refusing to train on the CPU`;
  const why =
    chosen.package === GPU_PACKAGE
      ? `${GPU_PACKAGE} is loaded but TensorFlow found no CUDA device: check the NVIDIA driver, CUDA and cuDNN libraries`
      : (reasons.find((r) => r.startsWith(GPU_PACKAGE)) ?? `${GPU_PACKAGE} is not installed`);
  return `${head}. ${why}.`;
}

async function devicesFor(candidate: Candidate, gpu: boolean): Promise<string[]> {
  if (gpu) {
    const gpus = await nvidiaGpus();
    return gpus.length > 0 ? gpus : ['GPU:0'];
  }
  const cores = cpus();
  const model = cores[0]?.model.trim() ?? 'unknown CPU';
  if (candidate.name === 'wasm') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    // tfjs-backend-wasm disables threads in Node (tfjs#3830): one core does the work.
    return [`CPU (wasm${simd === true ? ' simd' : ''}, 1 thread) ${model} x${cores.length}`];
  }
  if (candidate.name === 'tensorflow') return [`CPU (libtensorflow) ${model} x${cores.length}`];
  return [`CPU (javascript) ${model} x${cores.length}`];
}

/** `GPU:0 NVIDIA L4` per visible GPU, from nvidia-smi when it is on the PATH. */
function nvidiaGpus(): Promise<string[]> {
  return new Promise((resolve) => {
    execFile(
      'nvidia-smi',
      ['--query-gpu=index,name', '--format=csv,noheader'],
      { timeout: 5000 },
      (err, stdout) => {
        if (err) return resolve([]);
        resolve(
          stdout
            .split('\n')
            .map((line) => line.split(',').map((s) => s.trim()))
            .filter((parts) => parts.length >= 2 && parts[0] !== '')
            .map(([index, name]) => `GPU:${index} ${name}`),
        );
      },
    );
  });
}

/** Layer kinds mlform builds (dense, dropout, lstm, gru) and two it may build later. */
export const LAYER_KINDS = ['dense', 'dropout', 'lstm', 'gru', 'conv', 'embedding'] as const;
export type LayerKind = (typeof LAYER_KINDS)[number];

/**
 * Kernels that training a layer kind needs beyond the forward pass. The wasm backend registers
 * forward kernels for everything but has no gradient kernels for convolutions
 * (`Conv2DBackpropFilter`) or Embedding (`UnsortedSegmentSum`, the gradient of Gather). Dense,
 * dropout, LSTM and GRU backpropagate through MatMul, elementwise ops, Slice and Concat, which it
 * has: a one-step fit of each trains on wasm (test/trainer/backend.test.ts keeps this honest).
 */
const TRAINING_KERNELS: Record<LayerKind, string[]> = {
  dense: ['BatchMatMul', '_FusedMatMul', 'Transpose', 'Sum'],
  dropout: ['Multiply'],
  lstm: ['BatchMatMul', 'Sigmoid', 'Tanh', 'Slice', 'Concat', 'Multiply'],
  gru: ['BatchMatMul', 'Sigmoid', 'Tanh', 'Slice', 'Concat', 'Multiply'],
  conv: ['Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput'],
  embedding: ['GatherV2', 'UnsortedSegmentSum'],
};

export interface BackendCapabilities {
  backend: string;
  /** Whether tensors live on a GPU (only tfjs-node-gpu with a CUDA device). */
  gpu: boolean;
  /** Layer kind -> can it be trained (forward and backward) on this backend. */
  trainable: Record<LayerKind, boolean>;
  /** Kernels missing per untrainable layer kind, for error messages. */
  missingKernels: Partial<Record<LayerKind, string[]>>;
}

/**
 * What a backend can train. For a registered backend the answer comes from its kernel registry;
 * for one not loaded in this process (tfjs-node on a machine without it) from what we know of it.
 */
export function backendCapabilities(backend: string): BackendCapabilities {
  const registered = new Set(tf.getKernelsForBackend(backend).map((k) => k.kernelName));
  const trainable = {} as Record<LayerKind, boolean>;
  const missingKernels: Partial<Record<LayerKind, string[]>> = {};
  for (const kind of LAYER_KINDS) {
    let missing: string[];
    if (registered.size > 0) missing = TRAINING_KERNELS[kind].filter((k) => !registered.has(k));
    else if (backend === 'wasm' && kind === 'conv') missing = ['Conv2DBackpropFilter', 'Conv2DBackpropInput'];
    else if (backend === 'wasm' && kind === 'embedding') missing = ['UnsortedSegmentSum'];
    else missing = [];
    trainable[kind] = missing.length === 0;
    if (missing.length > 0) missingKernels[kind] = missing;
  }
  const gpu = backend === 'tensorflow' && tf.getBackend() === 'tensorflow' && tensorflowSeesGpu();
  return { backend, gpu, trainable, missingKernels };
}

/** The layer kinds a network spec turns into (see network/build-network.ts). */
export function layerKindsOf(network: BuiltinTrainer['network']): LayerKind[] {
  const kinds: LayerKind[] = network.type === 'mlp' ? ['dense'] : [network.type, 'dense'];
  if (network.dropout > 0) kinds.push('dropout');
  return kinds;
}

/**
 * Refuses, before any data is read, a network the backend cannot train (a missing gradient kernel
 * would otherwise fail at the first optimizer step, after loading and preparing the data).
 */
export function checkTrainable(network: BuiltinTrainer['network'], backend: string): Diagnostic[] {
  const capabilities = backendCapabilities(backend);
  return layerKindsOf(network)
    .filter((kind) => !capabilities.trainable[kind])
    .map((kind) =>
      error(
        'backend-cannot-train',
        `the ${backend} backend cannot train ${kind} layers (no ${(capabilities.missingKernels[kind] ?? []).join(', ')} kernel)`,
        {
          path: ['spec', 'trainer', 'builtin', 'network', 'type'],
          hint:
            backend === 'wasm'
              ? `install @tensorflow/tfjs-node (or set MLFORM_BACKEND=cpu, which is slower) to train ${network.type} networks`
              : `use another network type or backend`,
        },
      ),
    );
}

/**
 * Trains one step of a tiny model made of `kind` on the active backend. Used by tests to check the
 * TRAINING_KERNELS table against reality; cheap enough (a few ms) to run as a diagnostic.
 */
export async function probeLayerTraining(
  kind: LayerKind,
): Promise<{ ok: true } | { ok: false; error: string }> {
  const model = tf.sequential();
  const tensors: tf.Tensor[] = [];
  try {
    let x: tf.Tensor;
    switch (kind) {
      case 'dense':
        model.add(tf.layers.dense({ units: 4, inputShape: [3], activation: 'relu' }));
        x = tf.ones([4, 3]);
        break;
      case 'dropout':
        model.add(tf.layers.dense({ units: 4, inputShape: [3] }));
        model.add(tf.layers.dropout({ rate: 0.5 }));
        x = tf.ones([4, 3]);
        break;
      case 'lstm':
      case 'gru': {
        const layer = kind === 'lstm' ? tf.layers.lstm : tf.layers.gru;
        model.add(layer({ units: 3, inputShape: [4, 2], returnSequences: true }));
        model.add(layer({ units: 3 }));
        x = tf.ones([4, 4, 2]);
        break;
      }
      case 'conv':
        model.add(tf.layers.conv1d({ filters: 2, kernelSize: 2, inputShape: [4, 2] }));
        model.add(tf.layers.flatten());
        x = tf.ones([4, 4, 2]);
        break;
      case 'embedding':
        model.add(tf.layers.embedding({ inputDim: 5, outputDim: 2, inputLength: 3 }));
        model.add(tf.layers.flatten());
        x = tf.zeros([4, 3]);
        break;
    }
    model.add(tf.layers.dense({ units: 1 }));
    model.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError' });
    const y = tf.ones([4, 1]);
    tensors.push(x, y);
    await model.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    return { ok: true };
  } catch (e) {
    return { ok: false, error: describe(e) };
  } finally {
    tf.dispose(tensors);
    model.dispose();
  }
}
