/**
 * The state directory: where each record lives, atomic JSON writes, validated reads, listings and
 * removals. It is the local provider's actual state (docs/architecture.md "Principles" 1), so every write is
 * temp file + fsync + rename + fsync of the folder (a crash, even of the machine, leaves the old
 * record or the new one, never half of one), every JSON record carries a sha256 of its own content
 * (a torn or garbled write is detected, not half-read), and every read is validated (a damaged
 * record is a diagnostic for that one object, and apply refuses to act over it).
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { canonicalJson } from '../../resources/spec-hash.js';
import type { Static, TSchema } from '@sinclair/typebox';
import AjvModule, { type ValidateFunction } from 'ajv';
import { errorMessage } from '../../resources/error-message.js';
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import { toJsonSchema } from '../../resources/schema-helpers.js';
import { toJsonText } from '../../artifact/files.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../artifact/storage.js';

// ajv ships CommonJS with a default export; under NodeNext the constructor sits on `.default`.
const Ajv = AjvModule.default;
// useDefaults: a record written before a spec field existed reads back with that field's default.
const ajv = new Ajv({ allErrors: false, useDefaults: true, strict: false });
const validators = new WeakMap<TSchema, ValidateFunction>();

function validatorFor(schema: TSchema): ValidateFunction {
  let validate = validators.get(schema);
  if (!validate) {
    validate = ajv.compile(toJsonSchema(schema));
    validators.set(schema, validate);
  }
  return validate;
}

export const FILES = {
  run: 'run.json',
  artifact: 'artifact',
  trainLog: 'train.log',
  cancelled: 'cancelled',
  trainSpec: 'spec.json',
  model: 'model.json',
  versions: 'versions',
  version: 'version.json',
  aliases: 'aliases.json',
  endpoint: 'endpoint.json',
  servingConfig: 'config.json',
  serveLog: 'serve.log',
  schedule: 'schedule.json',
  lock: 'lock.json',
  leaderLease: 'leader.json',
} as const;

export interface StatePaths {
  root: string;
  lock: string;
  runs: string;
  runsOf(name: string): string;
  run(name: string, number: number): string;
  registry: string;
  model(name: string): string;
  versions(model: string): string;
  version(model: string, version: number): string;
  endpoints: string;
  endpoint(name: string): string;
  schedules: string;
  schedule(name: string): string;
  /** An endpoint's monitoring root (monitoring/layout.ts): logs, window summaries, feedback. */
  monitoring(endpoint: string): string;
  /** The stack state store (Provider.stateStore): outbox and notified snapshot. */
  store: string;
}

export function statePaths(root: string): StatePaths {
  return {
    root,
    lock: join(root, FILES.lock),
    runs: join(root, 'runs'),
    runsOf: (name) => join(root, 'runs', name),
    run: (name, number) => join(root, 'runs', name, String(number)),
    registry: join(root, 'registry'),
    model: (name) => join(root, 'registry', name),
    versions: (model) => join(root, 'registry', model, FILES.versions),
    version: (model, version) => join(root, 'registry', model, FILES.versions, String(version)),
    endpoints: join(root, 'endpoints'),
    endpoint: (name) => join(root, 'endpoints', name),
    schedules: join(root, 'schedules'),
    schedule: (name) => join(root, 'schedules', name),
    monitoring: (endpoint) => join(root, 'monitoring', endpoint),
    store: join(root, 'store'),
  };
}

/**
 * Names become directory names: refuse anything that could leave its folder or hide as a temp
 * entry. Manifests already restrict names to DNS labels; this guards the provider API itself.
 */
export function checkName(name: string, what: string, address?: string): Diagnostic | undefined {
  if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(name) && !name.includes('..')) return undefined;
  return error('local-name', `${what} name ${JSON.stringify(name)} cannot be a directory name`, {
    address,
    hint: 'use a DNS label: lowercase letters, digits and -',
  });
}

/** Temp and trash entries start with a dot; listings skip them. */
const isHidden = (entry: string): boolean => entry.startsWith('.');

/**
 * The member of every JSON record that holds `sha256:<hex>` of the canonical JSON of the rest.
 * Records written before it existed have none and still read.
 */
export const CHECKSUM_FIELD = 'checksum';

const checksumOf = (content: unknown): string =>
  `sha256:${createHash('sha256').update(canonicalJson(content)).digest('hex')}`;

/** The record's text with its checksum; what is hashed is what a reader parses back. */
export function sealedJsonText(value: object): string {
  const rest: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  delete rest[CHECKSUM_FIELD];
  const content = JSON.parse(toJsonText(rest)) as Record<string, unknown>;
  return toJsonText({ ...content, [CHECKSUM_FIELD]: checksumOf(content) });
}

export async function writeJsonAtomic(path: string, value: object): Promise<void> {
  await writeTextAtomic(path, sealedJsonText(value));
}

/**
 * Durable and atomic: the temp file is flushed before the rename, and the folder after it, so a
 * power cut cannot leave a renamed but empty record. Records and their folders are private
 * (0600/0700): they hold specs, data paths and lineage that other users of the machine need not see.
 */
export async function writeTextAtomic(path: string, text: string, mode = PRIVATE_FILE_MODE): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
  const temp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  try {
    const file = await open(temp, 'wx', mode);
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
  await syncDir(dirname(path));
}

/** fsync of a folder makes a rename in it durable; not every platform allows it (then: best effort). */
async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // EISDIR/EPERM on some platforms: the rename is still atomic, only its durability is the OS's
  } finally {
    await handle?.close();
  }
}

const created = new Set<string>();

/**
 * Creates the state directory if needed, mode 0700. A folder created here gets a `.gitignore` of
 * `*`: state inside a project must not be committed by accident (and a committed one is never
 * trusted). A state directory of ours left group- or world-accessible by an older mlform is closed
 * to 0700, which also hides every record, log and artifact below it, whatever their own modes.
 */
export async function ensureStateRoot(root: string): Promise<void> {
  if (created.has(root)) return;
  const first = await mkdir(root, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (first !== undefined) {
    await writeFile(join(root, '.gitignore'), '# mlform state: never commit it\n*\n', {
      flag: 'wx',
      mode: PRIVATE_FILE_MODE,
    }).catch(() => undefined);
  } else {
    await closeToOthers(root);
  }
  created.add(root);
}

/** chmod 0700 of a folder we own that others may enter; never follows a link, never fails a verb. */
async function closeToOthers(dir: string): Promise<void> {
  try {
    const info = await lstat(dir);
    const mine = typeof process.getuid !== 'function' || info.uid === process.getuid();
    if (info.isDirectory() && mine && (info.mode & 0o077) !== 0) await chmod(dir, PRIVATE_DIR_MODE);
  } catch {
    // unreadable: the verbs that write report it
  }
}

export type ReadResult<T> =
  { status: 'ok'; value: T } | { status: 'missing' } | { status: 'corrupt'; diagnostic: Diagnostic };

const isMissing = (e: unknown): boolean =>
  e instanceof Error && 'code' in e && (e.code === 'ENOENT' || e.code === 'ENOTDIR');

/** Reads and validates a JSON record; `address` names the object in the diagnostic. */
export async function readRecord<S extends TSchema>(
  path: string,
  schema: S,
  address: string,
): Promise<ReadResult<Static<S>>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return unreadable(e, path, address);
  }
  return parseRecord(text, schema, path, address);
}

function unreadable(e: unknown, path: string, address: string): ReadResult<never> {
  if (isMissing(e)) return { status: 'missing' };
  return { status: 'corrupt', diagnostic: corrupt(path, address, errorMessage(e)) };
}

function parseRecord<S extends TSchema>(
  text: string,
  schema: S,
  path: string,
  address: string,
): ReadResult<Static<S>> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { status: 'corrupt', diagnostic: corrupt(path, address, `not JSON: ${errorMessage(e)}`) };
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && CHECKSUM_FIELD in value) {
    const { [CHECKSUM_FIELD]: recorded, ...content } = value as Record<string, unknown>;
    let actual: string;
    try {
      actual = checksumOf(content);
    } catch (e) {
      return { status: 'corrupt', diagnostic: corrupt(path, address, errorMessage(e)) };
    }
    if (recorded !== actual) {
      return {
        status: 'corrupt',
        diagnostic: corrupt(path, address, 'its checksum does not match its content: a torn or edited write'),
      };
    }
    // Stripped, so that a record spread into a new one never carries a stale checksum.
    value = content;
  }
  return checkValue(value, schema, path, address);
}

/** Validates a part of a record that is checked only when used (defaults filled in place). */
export function checkValue<S extends TSchema>(
  value: unknown,
  schema: S,
  path: string,
  address: string,
): ReadResult<Static<S>> {
  const validate = validatorFor(schema);
  if (!validate(value)) {
    const first = validate.errors?.[0];
    const where = first?.instancePath ? `${first.instancePath} ` : '';
    return {
      status: 'corrupt',
      diagnostic: corrupt(path, address, `${where}${first?.message ?? 'does not match its schema'}`),
    };
  }
  return { status: 'ok', value: value as Static<S> };
}

/**
 * Listing reads many small files. fs/promises costs several thread-pool round trips per file
 * (1,000 records: ~150 ms, more on a busy machine); a synchronous read of a page-sized file is a
 * few microseconds. So listings read synchronously in batches and yield to the event loop between
 * batches: the controller's HTTP server stays responsive, and 1,000 records take ~20 ms.
 */
const BATCH = 64;

async function inBatches<T, R>(items: readonly T[], read: (item: T) => R): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += BATCH) {
    if (i > 0) await new Promise((resolve) => setImmediate(resolve));
    for (const item of items.slice(i, i + BATCH)) out.push(read(item));
  }
  return out;
}

/** Many records at once (see BATCH), results in the order asked. */
export function readRecords<S extends TSchema>(
  items: readonly { path: string; address: string }[],
  schema: S,
): Promise<ReadResult<Static<S>>[]> {
  return inBatches(items, ({ path, address }) => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      return unreadable(e, path, address);
    }
    return parseRecord(text, schema, path, address);
  });
}

/** The entries of many folders (see BATCH); a missing folder is empty, temp entries left out. */
export function listDirs(paths: readonly string[]): Promise<string[][]> {
  return inBatches(paths, (path) => {
    try {
      return readdirSync(path).filter((entry) => !isHidden(entry));
    } catch (e) {
      if (isMissing(e)) return [];
      throw e;
    }
  });
}

/** Numbered sub-folders (runs, versions) of many folders, ascending. */
export async function listNumberedMany(paths: readonly string[]): Promise<number[][]> {
  return (await listDirs(paths)).map(numbered);
}

const numbered = (entries: string[]): number[] =>
  entries
    .filter((entry) => /^[1-9]\d{0,9}$/.test(entry))
    .map(Number)
    .sort((a, b) => a - b);

/**
 * A damaged record fails closed: apply does not act on this object (it would recreate it over the
 * damage and orphan whatever the record tracked) until the operator repairs or forgets it.
 */
function corrupt(path: string, address: string, detail: string): Diagnostic {
  return error('local-corrupt-record', `${address}: the record ${path} is damaged (${detail})`, {
    address,
    file: path,
    hint: `restore the file from a backup, or delete the folder ${dirname(path)} to forget this object (a process it started is then no longer managed); plan and apply leave ${address} alone until then`,
  });
}

/** Entries of a folder, temp entries left out; a missing folder is empty. */
export async function listDir(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).filter((entry) => !isHidden(entry));
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
}

/** Numbered sub-folders (runs, versions), ascending. */
export async function listNumbered(path: string): Promise<number[]> {
  return numbered(await listDir(path));
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes a folder so that it disappears at once: renamed to a hidden trash entry (atomic, and
 * listings skip it), then deleted. A crash in between leaves only trash.
 */
export async function removeDir(path: string): Promise<void> {
  const trash = join(dirname(path), `.trash-${basename(path)}-${randomUUID()}`);
  try {
    await rename(path, trash);
  } catch (e) {
    if (isMissing(e)) return;
    throw e;
  }
  await rm(trash, { recursive: true, force: true });
}

/** An unexpected I/O failure of one verb, as a diagnostic. */
export const stateError = (address: string, action: string, e: unknown): Diagnostic =>
  error('local-state', `${address}: ${action} failed: ${errorMessage(e)}`, { address });

/** The object belongs to another stack sharing this state directory: never touch it. */
export function foreign(
  labels: Record<string, string>,
  stack: string,
  address: string,
): Diagnostic | undefined {
  const owner = labels['mlform-stack'];
  if (owner === stack) return undefined;
  return error('local-not-owned', `${address} belongs to stack "${owner ?? '?'}", not "${stack}"`, {
    address,
    hint: 'give each stack its own local.stateDir, or rename the resource',
  });
}
