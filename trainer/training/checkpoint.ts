/**
 * Training checkpoints: one self-checking file, `<outDir>/checkpoint/checkpoint.bin`.
 *
 *   "MLFCKPT1" | u32 LE header length | header JSON (UTF-8) | tensor bytes
 *
 * The header holds the loop state (epoch, step, history, early-stopping state, RNG state) and a
 * table of the tensors (model weights, optimizer slots, best weights) with their offsets, plus the
 * sha256 of the tensor bytes. The file is written in one `store.write`, which is atomic locally
 * (temp file + rename) and on Cloud Storage (an object appears whole or not at all), and it is
 * verified on read, so a torn or foreign file is reported, never loaded.
 */
import { createHash } from 'node:crypto';
import { joinUri, storeFor } from '../../artifact/storage.js';
import type { RngState } from './rng.js';

export const CHECKPOINT_DIR = 'checkpoint';
export const CHECKPOINT_FILE = 'checkpoint.bin';
const MAGIC = 'MLFCKPT1';
const FORMAT_VERSION = 1;

export type NamedArray =
  | { name: string; shape: number[]; dtype: 'float32'; data: Float32Array }
  | { name: string; shape: number[]; dtype: 'int32'; data: Int32Array };

export interface HistoryEntry {
  /** 1-based. */
  epoch: number;
  /** loss, mae | accuracy, val_loss, val_mae | val_accuracy: scaled space. */
  metrics: Record<string, number>;
  /** Wall time of the epoch (training, validation, probes). */
  seconds: number;
  /** Per-layer gradient norms on the probe batch at the end of the epoch (trainer/health). */
  gradientNorms: Record<string, number>;
}

export interface EarlyStoppingState {
  /** Best monitored value so far; null before the first finite one. */
  best: number | null;
  /** Epoch of `best` (0: none yet). */
  bestEpoch: number;
  /** Epochs since the last improvement. */
  wait: number;
  stopped: boolean;
}

/** A training stopped in the middle of an epoch (abort): enough to replay the rest of it exactly. */
export interface PartialEpoch {
  /** Batches of the epoch already trained. */
  batches: number;
  /** Generator state before the epoch's shuffle. */
  rngBeforeShuffle: RngState;
  lossSum: number;
  metricSum: number;
  samples: number;
  seconds: number;
}

export interface CheckpointState {
  formatVersion: typeof FORMAT_VERSION;
  /** Hash of everything that must match for a resume to be valid (see train.ts). */
  fingerprint: string;
  /** Completed epochs. */
  epoch: number;
  /** Optimizer steps taken (also the dropout seed counter). */
  globalStep: number;
  rng: RngState;
  partial?: PartialEpoch;
  history: HistoryEntry[];
  earlyStopping: EarlyStoppingState;
  diverged: boolean;
  /** Training wall time accumulated over all sessions. */
  elapsedSeconds: number;
  writtenAt: string;
}

export interface CheckpointTensors {
  weights: NamedArray[];
  optimizer: NamedArray[];
  /** Weights of the best epoch, when early stopping will restore them. */
  best?: NamedArray[];
}

interface TensorEntry {
  group: keyof CheckpointTensors;
  name: string;
  shape: number[];
  dtype: NamedArray['dtype'];
  offset: number;
  byteLength: number;
}

interface Header {
  state: CheckpointState;
  tensors: TensorEntry[];
  dataBytes: number;
  sha256: string;
}

export class CorruptCheckpointError extends Error {
  override name = 'CorruptCheckpointError';
}

export const checkpointUri = (outDir: string): string => joinUri(outDir, CHECKPOINT_DIR, CHECKPOINT_FILE);

export function encodeCheckpoint(state: CheckpointState, tensors: CheckpointTensors): Uint8Array {
  const entries: TensorEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const group of ['weights', 'optimizer', 'best'] as const) {
    for (const a of tensors[group] ?? []) {
      const bytes = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
      entries.push({
        group,
        name: a.name,
        shape: a.shape,
        dtype: a.dtype,
        offset,
        byteLength: bytes.byteLength,
      });
      chunks.push(bytes);
      offset += bytes.byteLength;
    }
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const chunk of chunks) {
    data.set(chunk, at);
    at += chunk.byteLength;
  }
  const header: Header = {
    state,
    tensors: entries,
    dataBytes: data.byteLength,
    sha256: createHash('sha256').update(data).digest('hex'),
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(MAGIC.length + 4 + headerBytes.byteLength + data.byteLength);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, headerBytes.byteLength, true);
  out.set(headerBytes, MAGIC.length + 4);
  out.set(data, MAGIC.length + 4 + headerBytes.byteLength);
  return out;
}

export function decodeCheckpoint(file: Uint8Array): { state: CheckpointState; tensors: CheckpointTensors } {
  const fail = (why: string): never => {
    throw new CorruptCheckpointError(`checkpoint is unreadable: ${why}`);
  };
  if (file.byteLength < MAGIC.length + 4) fail('file too short');
  if (new TextDecoder().decode(file.subarray(0, MAGIC.length)) !== MAGIC) fail('not an mlform checkpoint');
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLength = view.getUint32(MAGIC.length, true);
  const dataStart = MAGIC.length + 4 + headerLength;
  if (dataStart > file.byteLength) fail('header truncated');
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(file.subarray(MAGIC.length + 4, dataStart))) as Header;
  } catch {
    return fail('header is not JSON');
  }
  if (header.state?.formatVersion !== FORMAT_VERSION)
    fail(`format version ${String(header.state?.formatVersion)}`);
  const data = file.subarray(dataStart);
  if (data.byteLength !== header.dataBytes)
    fail(`expected ${header.dataBytes} data bytes, found ${data.byteLength}`);
  if (createHash('sha256').update(data).digest('hex') !== header.sha256) fail('checksum mismatch');

  const tensors: CheckpointTensors = { weights: [], optimizer: [] };
  for (const entry of header.tensors) {
    // Copy out: offsets in the file need not be aligned for typed-array views, and a Node Buffer
    // may be a view into a shared pool (its slice() does not copy).
    const bytes = new Uint8Array(entry.byteLength);
    bytes.set(data.subarray(entry.offset, entry.offset + entry.byteLength));
    const array: NamedArray =
      entry.dtype === 'int32'
        ? { name: entry.name, shape: entry.shape, dtype: 'int32', data: new Int32Array(bytes.buffer) }
        : { name: entry.name, shape: entry.shape, dtype: 'float32', data: new Float32Array(bytes.buffer) };
    const size = entry.shape.reduce((a, b) => a * b, 1);
    if (array.data.length !== size)
      fail(`${entry.name} has ${array.data.length} values for shape [${entry.shape}]`);
    (tensors[entry.group] ??= []).push(array);
  }
  return { state: header.state, tensors };
}

export async function writeCheckpoint(
  outDir: string,
  state: CheckpointState,
  tensors: CheckpointTensors,
): Promise<void> {
  await storeFor(outDir).write(checkpointUri(outDir), encodeCheckpoint(state, tensors));
}

/** The checkpoint in outDir, or undefined when there is none. Throws CorruptCheckpointError. */
export async function readCheckpoint(
  outDir: string,
): Promise<{ state: CheckpointState; tensors: CheckpointTensors } | undefined> {
  const store = storeFor(outDir);
  const uri = checkpointUri(outDir);
  if (!(await store.exists(uri))) return undefined;
  return decodeCheckpoint(await store.read(uri));
}
