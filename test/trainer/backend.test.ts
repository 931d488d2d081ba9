import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  AcceleratorUnavailableError,
  BackendUnavailableError,
  LAYER_KINDS,
  backendCapabilities,
  checkTrainable,
  probeLayerTraining,
  selectBackend,
} from '../../artifact/tfjs-backend.js';
import type { NetworkSpec } from '../../trainer/network/build-network.js';

const mlp: NetworkSpec = { type: 'mlp', layers: [8], activation: 'relu', dropout: 0.1 };

// The optional native packages: CI has neither, a laptop may have tfjs-node. What the selection
// must do depends on which of them load here, so the expectations are stated relative to that.
const GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';
const NODE_PACKAGE = '@tensorflow/tfjs-node';
const loads = (pkg: string): Promise<boolean> =>
  import(pkg).then(
    () => true,
    () => false,
  );
const gpuPackage = await loads(GPU_PACKAGE);
const nodePackage = await loads(NODE_PACKAGE);
/** The native package selection takes first, if any loads. */
const nativePackage = gpuPackage ? GPU_PACKAGE : nodePackage ? NODE_PACKAGE : undefined;

describe('selectBackend', () => {
  it(`selects ${nativePackage ? 'tensorflow' : 'wasm'} here: ${nativePackage ?? 'no tfjs-node package'} is installed`, async () => {
    const info = await selectBackend({ acceleratorRequested: false, env: {} });
    expect(info.devices).toHaveLength(1);
    if (nativePackage) {
      expect(info).toMatchObject({ backend: 'tensorflow', package: nativePackage });
      if (!gpuPackage) expect(info.devices[0]).toMatch(/^CPU \(libtensorflow\)/);
      expect(tf.getBackend()).toBe('tensorflow');
    } else {
      expect(info.backend).toBe('wasm');
      expect(info.package).toBe('@tensorflow/tfjs-backend-wasm');
      expect(info.devices[0]).toMatch(/^CPU \(wasm/);
      expect(tf.getBackend()).toBe('wasm');
    }
  });

  it('honours MLFORM_BACKEND', async () => {
    const cpu = await selectBackend({ acceleratorRequested: false, env: { MLFORM_BACKEND: 'cpu' } });
    expect(cpu).toMatchObject({ backend: 'cpu', package: '@tensorflow/tfjs-backend-cpu' });
    expect(tf.getBackend()).toBe('cpu');
    const wasm = await selectBackend({
      acceleratorRequested: false,
      prefer: 'cpu',
      env: { MLFORM_BACKEND: 'wasm' },
    });
    expect(wasm.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('uses `prefer` as a preference, not a requirement', async () => {
    expect((await selectBackend({ acceleratorRequested: false, prefer: 'cpu', env: {} })).backend).toBe(
      'cpu',
    );
    expect(
      (await selectBackend({ acceleratorRequested: false, prefer: 'tensorflow', env: {} })).backend,
    ).toBe(nativePackage ? 'tensorflow' : 'wasm');
  });

  it.runIf(nativePackage)('loads a forced tensorflow backend when tfjs-node is installed', async () => {
    await expect(
      selectBackend({ acceleratorRequested: false, env: { MLFORM_BACKEND: 'tensorflow' } }),
    ).resolves.toMatchObject({ backend: 'tensorflow', package: nativePackage });
  });

  it('fails clearly when a forced backend cannot load, or is not a backend', async () => {
    if (!nativePackage) {
      await expect(
        selectBackend({ acceleratorRequested: false, env: { MLFORM_BACKEND: 'tensorflow' } }),
      ).rejects.toThrow(BackendUnavailableError);
      await expect(
        selectBackend({ acceleratorRequested: false, env: { MLFORM_BACKEND: 'tensorflow' } }),
      ).rejects.toThrow(/MLFORM_BACKEND=tensorflow .*@tensorflow\/tfjs-node/);
    }
    await expect(
      selectBackend({ acceleratorRequested: false, env: { MLFORM_BACKEND: 'webgpu' } }),
    ).rejects.toThrow('MLFORM_BACKEND="webgpu" is not a backend; use one of tensorflow, wasm, cpu');
  });

  // With tfjs-node-gpu installed, whether a GPU is visible depends on the machine's CUDA setup.
  it.skipIf(gpuPackage)('refuses to train on the CPU when an accelerator is requested', async () => {
    const request = selectBackend({
      acceleratorRequested: true,
      accelerator: { type: 'NVIDIA_L4', count: 1 },
      env: {},
    });
    await expect(request).rejects.toThrow(AcceleratorUnavailableError);
    await expect(request).rejects.toThrow(
      `resources.accelerator asks for NVIDIA_L4 x1 but no GPU is visible to TensorFlow.js (backend ${nativePackage ? 'tensorflow' : 'wasm'}); ` +
        'refusing to train on the CPU. @tensorflow/tfjs-node-gpu is not usable',
    );
    await expect(
      selectBackend({ acceleratorRequested: true, env: { MLFORM_BACKEND: 'cpu' } }),
    ).rejects.toThrow('asks for a GPU but no GPU is visible to TensorFlow.js (backend cpu)');
  });
});

describe('capabilities', () => {
  it('wasm trains dense, dropout, lstm and gru but not conv or embedding, and the table matches a real fit', async () => {
    await selectBackend({ acceleratorRequested: false, env: { MLFORM_BACKEND: 'wasm' } });
    const capabilities = backendCapabilities('wasm');
    expect(capabilities.trainable).toEqual({
      dense: true,
      dropout: true,
      lstm: true,
      gru: true,
      conv: false,
      embedding: false,
    });
    expect(capabilities.missingKernels.conv).toContain('Conv2DBackpropFilter');
    expect(capabilities.missingKernels.embedding).toEqual(['UnsortedSegmentSum']);
    for (const kind of LAYER_KINDS) {
      const probe = await probeLayerTraining(kind);
      expect({ kind, ok: probe.ok }).toEqual({ kind, ok: capabilities.trainable[kind] });
    }
  });

  it('accepts our networks on wasm and cpu', () => {
    for (const type of ['mlp', 'lstm', 'gru'] as const) {
      expect(checkTrainable({ ...mlp, type }, 'wasm')).toEqual([]);
      expect(checkTrainable({ ...mlp, type }, 'cpu')).toEqual([]);
      expect(checkTrainable({ ...mlp, type }, 'tensorflow')).toEqual([]);
    }
  });

  it('refuses, with a diagnostic on network.type, what a backend lacks kernels for', () => {
    // A backend that registered only a matmul: dense trains, recurrent cells do not.
    for (const kernelName of ['BatchMatMul', '_FusedMatMul', 'Transpose', 'Sum', 'Multiply']) {
      tf.registerKernel({
        kernelName,
        backendName: 'limited-test',
        kernelFunc: () => ({ dataId: {}, shape: [], dtype: 'float32' }),
      });
    }
    expect(checkTrainable({ ...mlp, type: 'mlp' }, 'limited-test')).toEqual([]);
    const [diagnostic] = checkTrainable({ ...mlp, type: 'lstm' }, 'limited-test');
    expect(diagnostic).toMatchObject({
      severity: 'error',
      code: 'backend-cannot-train',
      path: ['spec', 'trainer', 'builtin', 'network', 'type'],
    });
    expect(diagnostic.message).toBe(
      'the limited-test backend cannot train lstm layers (no Sigmoid, Tanh, Slice, Concat kernel)',
    );
  });
});
