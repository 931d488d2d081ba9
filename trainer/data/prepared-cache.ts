/**
 * The prepared dataset cached on disk, keyed by sha256 of (the data's sha256, everything of the
 * spec prepareData reads: task, data, seed, and the mlform version). Tuning trials and retrains of
 * the same data in new processes then skip preparation (~10 ms of a ~60 ms cars epoch cold).
 *
 * Where: a folder the launcher names in MLFORM_DATA_CACHE (unset: no cache). Only mlform writes
 * there; a file is used only if its header repeats the key it is named by and its arrays have the
 * sizes the header says, else it is recomputed and replaced. Invalidation is by key: new data
 * bytes, a changed spec field or another mlform version is another file. Size bound: after each
 * write, the oldest files beyond MAX_ENTRIES or MAX_BYTES are deleted. A folder that others can
 * write to is not used (a planted file would be trusted as training data).
 */
import { hash } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuiltinTrainer } from '../../resources/training-run.js';
import type { PreparedData, Samples } from '../types.js';
import { errorMessage } from '../../resources/error-message.js';
import type { Table } from './load-table.js';
import { prepareData } from './prepare.js';
import { readFileSync, statSync, type Stats } from 'node:fs';

export { DATA_CACHE_ENV } from '../../artifact/storage.js';
const FORMAT = 2;
export const MAX_ENTRIES = 16;
export const MAX_BYTES = 1024 ** 3;
const MAGIC = 'mlform-prepared\n';

/** mlform's version (package.json two levels up in the sources, three in dist/): another version may prepare differently. Read once per process. */
let version: string | undefined;
function mlformVersion(): string {
  return (version ??= readVersion());
}

function readVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'mlform' && pkg.version) return pkg.version;
    } catch {
      // not at this depth
    }
  }
  return 'unknown';
}

/** The cache key: sha256 of the inputs prepareData's result depends on. */
export function preparedKey(builtin: BuiltinTrainer, fingerprint: string, version = mlformVersion()): string {
  const { task, data, seed } = builtin;
  const identity = {
    format: FORMAT,
    mlform: version,
    fingerprint,
    task,
    data: { ...data, uri: null },
    seed,
  };
  return hash('sha256', JSON.stringify(identity), 'hex');
}

/**
 * prepareData through the cache in `dir` (undefined: straight through). Cache trouble never fails
 * a training: it is reported through `log` and the data is prepared as without a cache.
 */
export async function prepareCached(
  builtin: BuiltinTrainer,
  table: Table,
  dir: string | undefined,
  log: (message: string) => void = () => {},
): Promise<PreparedData> {
  const lookup = { builtin, fingerprint: table.sha256, table: () => Promise.resolve(table), dir, log };
  return (await prepareByFingerprint(lookup)).data;
}

export interface CacheLookup {
  builtin: BuiltinTrainer;
  /** The data's sha256 (Table.sha256). */
  fingerprint: string;
  /** Parses the data: called only on a miss, or when there is no usable cache. */
  table: () => Promise<Table>;
  /** The cache folder; undefined: no cache. */
  dir: string | undefined;
  log?: (message: string) => void;
  /** mlform's version when the caller knows it (the CLI and tuning workers do): else read from package.json. */
  mlformVersion?: string;
}

/** The cache looked up by the data's fingerprint alone; `hit` says whether it answered. */
export async function prepareByFingerprint(
  lookup: CacheLookup,
): Promise<{ data: PreparedData; hit: boolean; key?: string }> {
  const { builtin, fingerprint, table, dir, log = () => {} } = lookup;
  if (!dir) return { data: prepareData(builtin, await table()), hit: false };
  const key = preparedKey(builtin, fingerprint, lookup.mlformVersion);
  const file = join(dir, `${key}.bin`);
  const found = await lookUp(dir, file, key, log);
  if (typeof found === 'object') return { data: found, hit: true, key };
  // A miss, or an unusable cache: prepared here, stored only in a usable one (a function of its
  // own, so a process that hits never compiles it).
  return {
    data: await prepareAndStore(lookup, found === 'miss' ? { dir, file, key } : undefined, log),
    hit: false,
    key,
  };
}

/**
 * The entry of `key`; 'miss' when the folder is usable and holds none (or a bad one); 'unusable'
 * when the cache cannot be used (reported through `log`).
 */
async function lookUp(
  dir: string,
  file: string,
  key: string,
  log: (message: string) => void,
): Promise<PreparedData | 'miss' | 'unusable'> {
  // Only the cache's own trouble is caught here: a parse or preparation error is the run's.
  try {
    if (!(await usableFolder(dir))) {
      log(`data cache ${dir} is writable by others: not used`);
      return 'unusable';
    }
  } catch (error) {
    log(`data cache: cannot read ${file}: ${errorMessage(error)}`);
    return 'unusable';
  }
  try {
    return (await readEntry(file, key)) ?? 'miss';
  } catch (error) {
    log(`data cache: cannot read ${file}: ${errorMessage(error)}`);
    return 'miss';
  }
}

async function prepareAndStore(
  { builtin, table }: CacheLookup,
  store: { dir: string; file: string; key: string } | undefined,
  log: (message: string) => void,
): Promise<PreparedData> {
  const data = prepareData(builtin, await table());
  if (!store) return data;
  try {
    await writeEntry(store.dir, store.file, store.key, data);
    await trim(store.dir);
  } catch (error) {
    log(`data cache: cannot write ${store.file}: ${errorMessage(error)}`);
  }
  return data;
}

async function usableFolder(dir: string): Promise<boolean> {
  // stat first: the folder exists on every run but the first, and a cache hit is a few ms in all.
  let info: Stats;
  try {
    info = statSync(dir);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    info = statSync(dir);
  }
  const mine = typeof process.getuid !== 'function' || info.uid === process.getuid();
  return info.isDirectory() && mine && (info.mode & 0o022) === 0;
}

type ArrayName = 'x' | 'y' | 'anchor' | 'rowIndex' | 'seasonal';
interface Header {
  key: string;
  data: Omit<PreparedData, 'train' | 'validation'>;
  /** Per split: count and the byte length of each array, in the order written. */
  splits: { count: number; arrays: { name: ArrayName; bytes: number }[] }[];
}

const ARRAYS: ArrayName[] = ['x', 'y', 'anchor', 'rowIndex', 'seasonal'];

async function writeEntry(dir: string, file: string, key: string, data: PreparedData): Promise<void> {
  const { train, validation, ...rest } = data;
  const parts: Buffer[] = [];
  const splits = [train, validation].map((samples) => {
    const arrays = ARRAYS.flatMap((name) => {
      const array = samples[name];
      if (!array) return [];
      parts.push(Buffer.from(array.buffer, array.byteOffset, array.byteLength));
      return [{ name, bytes: array.byteLength }];
    });
    return { count: samples.count, arrays };
  });
  // JSON has no NaN: an undefined MASE scale is written as null and read back as NaN.
  const header: Header = { key, data: rest, splits };
  const json = Buffer.from(`${JSON.stringify(header)}\n`);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  const temp = `${file}.${process.pid}.tmp`;
  // The arrays as they are (writev), not concatenated: a copy of 13 MB is ~8 ms of page faults.
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writev([Buffer.from(MAGIC), length, json, ...parts]);
  } finally {
    await handle.close();
  }
  await rename(temp, file);
}

async function readEntry(file: string, key: string): Promise<PreparedData | undefined> {
  let bytes: Buffer;
  try {
    // Synchronous: one read instead of fs/promises' four thread-pool round trips (see load-table.ts).
    bytes = readFileSync(file);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw error;
  }
  const magic = Buffer.from(MAGIC);
  if (bytes.length < magic.length + 4 || !bytes.subarray(0, magic.length).equals(magic)) return undefined;
  const jsonLength = bytes.readUInt32LE(magic.length);
  let at = magic.length + 4;
  if (at + jsonLength > bytes.length) return undefined;
  const header = JSON.parse(bytes.subarray(at, at + jsonLength).toString('utf8')) as Header;
  if (header.key !== key || header.splits?.length !== 2) return undefined;
  at += jsonLength;
  const samples: Samples[] = [];
  for (const split of header.splits) {
    const out: Partial<Samples> = { count: split.count };
    for (const { name, bytes: size } of split.arrays) {
      if (!ARRAYS.includes(name) || size < 0 || at + size > bytes.length) return undefined;
      // Copied out: typed arrays need aligned offsets, and the file buffer is then released.
      const copy = new Uint8Array(bytes.subarray(at, at + size)).buffer;
      at += size;
      if (name === 'anchor' || name === 'seasonal') out[name] = new Float64Array(copy);
      else if (name === 'rowIndex') out.rowIndex = new Int32Array(copy);
      else out[name] = new Float32Array(copy);
    }
    if (!out.x || !out.y) return undefined;
    samples.push(out as Samples);
  }
  if (at !== bytes.length) return undefined;
  const { forecast } = header.data;
  if (forecast && forecast.scale === null) forecast.scale = NaN;
  return { ...header.data, train: samples[0], validation: samples[1] };
}

const COMPANION = '.features.json';

/**
 * A JSON value kept beside entry `key` (statistics.json's feature statistics, which need the raw
 * rows: kept, a later hit never parses the data), or undefined. The folder rules of the entries
 * apply, and the file must repeat its key.
 */
export async function readCompanion(dir: string, key: string): Promise<unknown> {
  if (!(await usableFolder(dir))) return undefined;
  let text: string;
  try {
    text = readFileSync(join(dir, `${key}${COMPANION}`), 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as { key?: unknown; value?: unknown };
  return parsed.key === key ? parsed.value : undefined;
}

/** Writes the companion of entry `key`; trimmed with it. */
export async function writeCompanion(dir: string, key: string, value: unknown): Promise<void> {
  if (!(await usableFolder(dir))) return;
  const file = join(dir, `${key}${COMPANION}`);
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify({ key, value }), { mode: 0o600 });
  await rename(temp, file);
}

/** Deletes the oldest entries beyond MAX_ENTRIES files or MAX_BYTES in all, with their companions. */
async function trim(dir: string): Promise<void> {
  const all = await readdir(dir);
  const names = all.filter((n) => /^[0-9a-f]{64}\.bin$/.test(n));
  const kept = new Set(names.map((n) => n.slice(0, 64)));
  for (const name of all) {
    // A companion whose entry is gone (deleted by an earlier trim, or never written).
    if (name.endsWith(COMPANION) && !kept.has(name.slice(0, -COMPANION.length)))
      await rm(join(dir, name), { force: true });
  }
  const entries = await Promise.all(names.map(async (name) => ({ name, info: await stat(join(dir, name)) })));
  entries.sort((a, b) => b.info.mtimeMs - a.info.mtimeMs);
  let total = 0;
  for (const [index, { name, info }] of entries.entries()) {
    total += info.size;
    if (index >= MAX_ENTRIES || total > MAX_BYTES) {
      await rm(join(dir, name), { force: true });
      await rm(join(dir, `${name.slice(0, 64)}${COMPANION}`), { force: true });
    }
  }
}
