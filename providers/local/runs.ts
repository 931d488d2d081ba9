/**
 * TrainingRuns: one detached `mlform train` process per run, in `runs/<name>/<number>/`. The
 * state is derived, never stored as "running": the artifact's run.json means succeeded, the
 * `cancelled` marker cancelled, a live process that is provably ours running, anything else
 * failed. A terminal state, once seen, is cached in the record so listings stay one read per run.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pLimit from 'p-limit';
import { runRef, trainingRunAddress } from '../../resources/address.js';
import { error, warning, type Diagnostic } from '../../resources/diagnostic.js';
import { isPlainRecord } from '../../resources/json-walk.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import {
  ACTIVE_RUN_STATES,
  ownershipLabels,
  type CreateRunRequest,
  type ObservedRun,
  type ProviderContext,
  type Response,
  type RunRef,
} from '../provider.js';
import { ARTIFACT_LIMITS } from '../../artifact/limits.js';
import { gitCommitOf } from '../git-commit.js';
import { withSlotLock } from './training-slots.js';
import {
  limitFromEnv,
  localTrainingLimit,
  MAX_LOCAL_TRAININGS_ENV,
} from '../../trainer/tuning/worker-limit.js';
import { trainArgs, TRAIN_ENV_OVERRIDES } from './mlform-cli.js';
import {
  DATA_CACHE_ENV,
  DATA_ROOTS_ENV,
  PRIVATE_DIR_MODE,
  PRIVATE_FILE_MODE,
} from '../../artifact/storage.js';
import { ContractMetricsSchema } from '../../artifact/contract.js';
import {
  findLaunched,
  isAlive,
  launchStamp,
  spawnDetached,
  stopProcess,
  type TrackedProcess,
} from './processes.js';
import { ArtifactRunSchema, RunRecordSchema, type RunOutcome, type RunRecord } from './records.js';
import { readLogLines, readLogTail, summarizeLog } from './run-log.js';
import { childEnv, stateRoot, type LocalSettings } from './settings.js';
import { commandLaunchEnv } from './command-runs.js';
import { adoptDeadStudy } from './study-resume.js';
import { errorMessage } from '../../resources/error-message.js';
import {
  checkName,
  exists,
  FILES,
  foreign,
  listDir,
  listNumbered,
  listNumberedMany,
  readRecord,
  readRecords,
  removeDir,
  stateError,
  statePaths,
  writeJsonAtomic,
  writeTextAtomic,
  type StatePaths,
} from './state-dir.js';

export const NOT_FINISHED = 'process exited without finishing';

/** One run's folder and the files in it. */
function runFiles(paths: StatePaths, ref: RunRef) {
  const dir = paths.run(ref.name, ref.number);
  return {
    dir,
    record: join(dir, FILES.run),
    artifact: join(dir, FILES.artifact),
    log: join(dir, FILES.trainLog),
    cancelled: join(dir, FILES.cancelled),
    /** The manifest the trainer reads (`--spec-file`), mode 0600: never on a command line. */
    spec: join(dir, FILES.trainSpec),
  };
}

const tracked = (record: RunRecord): TrackedProcess => ({
  pid: record.pid,
  marker: record.marker,
  ...(record.launch && { launch: record.launch }),
});

/**
 * The trainer resolves relative `file://` URIs against its working directory; the manifest's
 * folder is what the user meant, so they become absolute before the spec leaves the provider.
 */
export function absoluteDataUris(spec: TrainingRunSpec, manifestPath: string): TrainingRunSpec {
  const builtin = spec.trainer.builtin;
  const uri = builtin?.data.uri;
  if (!builtin || !uri?.startsWith('file://') || uri.startsWith('file:///')) return spec;
  const absolute = pathToFileURL(resolve(dirname(manifestPath), uri.slice('file://'.length))).href;
  return {
    ...spec,
    trainer: { ...spec.trainer, builtin: { ...builtin, data: { ...builtin.data, uri: absolute } } },
  };
}

// ---- observation ---------------------------------------------------------------------------

/** Launches without a recorded pid, scanned for at most once per listing. */
type LaunchScan = (record: RunRecord) => Promise<boolean>;

function launchScan(records: readonly RunRecord[]): LaunchScan {
  const byRecord = new Map(records.map((r) => [r, tracked(r)]));
  let scan: Promise<Map<TrackedProcess, number[]>> | undefined;
  return async (record) => {
    const t = byRecord.get(record);
    if (!t) return false;
    scan ??= findLaunched([...byRecord.values()]);
    return ((await scan).get(t)?.length ?? 0) > 0;
  };
}

const finite = (values: Record<string, number | null>): Record<string, number> =>
  Object.fromEntries(
    Object.entries(values).filter((entry): entry is [string, number] => typeof entry[1] === 'number'),
  );

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

async function mtimeOf(path: string): Promise<string | undefined> {
  try {
    return (await stat(path)).mtime.toISOString();
  } catch {
    return undefined;
  }
}

/** The artifact's own account of a finished training, once run.json (written last) exists. */
async function artifactOutcome(
  artifactDir: string,
  record: RunRecord,
): Promise<{ outcome?: RunOutcome; diagnostic?: Diagnostic }> {
  const address = trainingRunAddress(record.name);
  // Read whole on every observation until cached: bounded like every artifact JSON file.
  for (const file of ['run.json', 'metrics.json']) {
    const size = await sizeOf(join(artifactDir, file));
    if (size !== undefined && size > ARTIFACT_LIMITS.jsonBytes) {
      return {
        diagnostic: error(
          'local-artifact',
          `${runRef(record)}: the artifact's ${file} is ${size} bytes, over the limit of ${ARTIFACT_LIMITS.jsonBytes}`,
          { address },
        ),
      };
    }
  }
  const run = await readRecord(join(artifactDir, 'run.json'), ArtifactRunSchema, address);
  if (run.status === 'missing') return {};
  if (run.status === 'corrupt') return { diagnostic: run.diagnostic };
  const metrics = await readRecord(join(artifactDir, 'metrics.json'), ContractMetricsSchema, address);
  if (metrics.status !== 'ok') {
    return {
      diagnostic:
        metrics.status === 'corrupt'
          ? metrics.diagnostic
          : error('local-artifact', `${runRef(record)}: the artifact has run.json but no metrics.json`, {
              address,
            }),
    };
  }
  const gitCommit = run.value.gitCommit ?? record.gitCommit;
  return {
    outcome: {
      state: 'succeeded',
      finishedAt: run.value.finishedAt,
      metrics: finite(metrics.value.metrics),
      baseline: finite(metrics.value.baseline),
      ...(run.value.data !== undefined && { dataSha256: run.value.data.sha256 }),
      ...(gitCommit !== undefined && { gitCommit }),
    },
  };
}

function toObserved(record: RunRecord, artifactDir: string): ObservedRun {
  return {
    name: record.name,
    number: record.number,
    specHash: record.specHash,
    state: 'running',
    attempt: record.attempt,
    ...(record.schedule !== undefined && { schedule: record.schedule }),
    createdAt: record.createdAt,
    artifactUri: artifactDir,
    annotations: record.annotations,
    ...(record.gitCommit !== undefined && { gitCommit: record.gitCommit }),
    // Written by createRun from a validated CreateRunRequest; only ever diffed, never executed.
    ...(isPlainRecord(record.manifestSpec) && { spec: record.manifestSpec as TrainingRunSpec }),
  };
}

function withOutcome(run: ObservedRun, outcome: RunOutcome): ObservedRun {
  return {
    ...run,
    state: outcome.state,
    ...(outcome.finishedAt !== undefined && { finishedAt: outcome.finishedAt }),
    ...(outcome.metrics !== undefined && { metrics: outcome.metrics }),
    ...(outcome.baseline !== undefined && { baseline: outcome.baseline }),
    ...(outcome.dataSha256 !== undefined && { dataSha256: outcome.dataSha256 }),
    ...(outcome.gitCommit !== undefined && { gitCommit: outcome.gitCommit }),
    ...(outcome.error !== undefined && { error: outcome.error }),
  };
}

/** A terminal state never changes; remembering it is an optimisation, so failures are ignored. */
async function cacheOutcome(recordPath: string, record: RunRecord, outcome: RunOutcome): Promise<void> {
  await writeJsonAtomic(recordPath, { ...record, outcome }).catch(() => undefined);
}

async function observeRecord(
  settings: LocalSettings,
  paths: StatePaths,
  record: RunRecord,
  scan: LaunchScan,
): Promise<{ run: ObservedRun; diagnostics: Diagnostic[] }> {
  const files = runFiles(paths, record);
  const base = toObserved(record, files.artifact);
  if (record.outcome) return { run: withOutcome(base, record.outcome), diagnostics: [] };

  // Liveness first: once the process is known dead, what it left behind can no longer change. A
  // process that carries the marker but cannot be proven ours counts as alive (calling a live
  // training dead would cache a false failure); it is still never signalled.
  const alive = record.pid !== undefined ? await isAlive(tracked(record)) : await scan(record);

  const fromArtifact = await artifactOutcome(files.artifact, record);
  if (fromArtifact.outcome) {
    // A finished artifact wins over a late cancel: the training completed.
    await cacheOutcome(files.record, record, fromArtifact.outcome);
    return { run: withOutcome(base, fromArtifact.outcome), diagnostics: [] };
  }
  const diagnostics = fromArtifact.diagnostic ? [fromArtifact.diagnostic] : [];

  if (await exists(files.cancelled)) {
    const outcome: RunOutcome = { state: 'cancelled', finishedAt: await mtimeOf(files.cancelled) };
    if (!alive) await cacheOutcome(files.record, record, outcome);
    return { run: withOutcome(base, outcome), diagnostics };
  }

  if (alive) {
    const { progress } = summarizeLog(await readLogTail(files.log));
    return { run: { ...base, state: 'running', ...(progress && { progress }) }, diagnostics };
  }

  // Recorded, never spawned: queued until a training slot frees (training-slots.ts), including a
  // launch a crash interrupted. A train.log means a process was spawned (and its pid update lost):
  // it has ended, so the run failed like any other that exited without finishing.
  if (record.pid === undefined && !(await exists(files.log))) {
    return { run: { ...base, state: 'queued' }, diagnostics };
  }

  const summary = summarizeLog(await readLogTail(files.log));
  const reason = summary.error ?? (summary.lastText ? `${NOT_FINISHED}: ${summary.lastText}` : NOT_FINISHED);
  const finishedAt = await mtimeOf(files.log);
  const outcome: RunOutcome = {
    state: 'failed',
    error: reason,
    ...(finishedAt !== undefined && { finishedAt }),
  };
  if (fromArtifact.diagnostic === undefined) await cacheOutcome(files.record, record, outcome);
  return { run: withOutcome(base, outcome), diagnostics };
}

// ---- reading records -----------------------------------------------------------------------

interface LoadedRuns {
  records: RunRecord[];
  diagnostics: Diagnostic[];
}

async function loadRecords(
  ctx: ProviderContext,
  paths: StatePaths,
  names: readonly string[],
): Promise<LoadedRuns> {
  const numbers = await listNumberedMany(names.map((name) => paths.runsOf(name)));
  const refs = names.flatMap((name, i) => numbers[i].map((number) => ({ name, number })));
  const read = await readRecords(
    refs.map((ref) => ({ path: runFiles(paths, ref).record, address: trainingRunAddress(ref.name) })),
    RunRecordSchema,
  );
  const out: LoadedRuns = { records: [], diagnostics: [] };
  for (const result of read) {
    // A folder without its record is a create that crashed before writing it: nothing to observe.
    if (result.status === 'corrupt') out.diagnostics.push(result.diagnostic);
    else if (result.status === 'ok' && result.value.labels['mlform-stack'] === ctx.stack)
      out.records.push(result.value);
  }
  return out;
}

async function observeAll(
  settings: LocalSettings,
  paths: StatePaths,
  loaded: LoadedRuns,
): Promise<Response & { items: ObservedRun[] }> {
  const limit = pLimit(settings.concurrency);
  const scan = launchScan(loaded.records.filter((r) => r.pid === undefined && !r.outcome));
  const observed = await Promise.all(
    loaded.records.map((record) =>
      // Finished runs (nearly all of them) need no I/O: no queueing either.
      record.outcome
        ? {
            run: withOutcome(
              toObserved(record, join(paths.run(record.name, record.number), FILES.artifact)),
              record.outcome,
            ),
            diagnostics: [],
          }
        : limit(() => observeRecord(settings, paths, record, scan)),
    ),
  );
  return {
    items: observed.map((o) => o.run),
    diagnostics: [...loaded.diagnostics, ...observed.flatMap((o) => o.diagnostics)],
  };
}

export async function listRuns(
  settings: LocalSettings,
  ctx: ProviderContext,
): Promise<Response & { items: ObservedRun[] }> {
  const paths = statePaths(stateRoot(settings, ctx));
  try {
    const names = await listDir(paths.runs);
    let loaded = await loadRecords(ctx, paths, names);
    // Every acting pass is a chance to start queued runs (apply --wait and the controller list
    // often); plan, get, describe and logs only look.
    const started =
      !ctx.readOnly && hasQueued(loaded.records) ? await startQueued(settings, ctx, paths) : undefined;
    if (started) loaded = await loadRecords(ctx, paths, names);
    const observed = await observeAll(settings, paths, loaded);
    return { ...observed, diagnostics: [...(started ?? []), ...observed.diagnostics] };
  } catch (e) {
    return { items: [], diagnostics: [stateError('TrainingRun', 'listing runs', e)] };
  }
}

/** The runs of one TrainingRun name (a schedule's template), observed. */
export async function listRunsNamed(
  settings: LocalSettings,
  ctx: ProviderContext,
  name: string,
): Promise<Response & { items: ObservedRun[] }> {
  const paths = statePaths(stateRoot(settings, ctx));
  return observeAll(settings, paths, await loadRecords(ctx, paths, [name]));
}

/** Highest number used under `runs/<name>/`, record or not, plus one: never reuses a folder. */
export async function nextRunNumber(
  settings: LocalSettings,
  ctx: ProviderContext,
  name: string,
): Promise<number> {
  const numbers = await listNumbered(statePaths(stateRoot(settings, ctx)).runsOf(name));
  return (numbers.at(-1) ?? 0) + 1;
}

type RecordLookup =
  { ok: true; record: RunRecord; paths: StatePaths } | { ok: false; diagnostics: Diagnostic[] };

async function lookUp(settings: LocalSettings, ctx: ProviderContext, ref: RunRef): Promise<RecordLookup> {
  const address = trainingRunAddress(ref.name);
  const invalid = checkName(ref.name, 'TrainingRun', address);
  if (invalid) return { ok: false, diagnostics: [invalid] };
  const paths = statePaths(stateRoot(settings, ctx));
  const result = await readRecord(runFiles(paths, ref).record, RunRecordSchema, address);
  if (result.status === 'missing') {
    return {
      ok: false,
      diagnostics: [error('local-run-not-found', `run ${runRef(ref)} does not exist`, { address })],
    };
  }
  if (result.status === 'corrupt') return { ok: false, diagnostics: [result.diagnostic] };
  const owner = foreign(result.value.labels, ctx.stack, address);
  if (owner) return { ok: false, diagnostics: [owner] };
  return { ok: true, record: result.value, paths };
}

export async function observeRun(
  settings: LocalSettings,
  ctx: ProviderContext,
  ref: RunRef,
): Promise<Response & { run?: ObservedRun }> {
  try {
    const found = await lookUp(settings, ctx, ref);
    if (!found.ok) return { diagnostics: found.diagnostics };
    return await startThenObserve(settings, ctx, found.paths, found.record);
  } catch (e) {
    return { diagnostics: [stateError(trainingRunAddress(ref.name), `observing ${runRef(ref)}`, e)] };
  }
}

// ---- create, cancel, logs, delete ----------------------------------------------------------

async function launch(
  settings: LocalSettings,
  ctx: ProviderContext,
  paths: StatePaths,
  record: RunRecord,
): Promise<Response & { run?: ObservedRun }> {
  const files = runFiles(paths, record);
  const manifest = {
    apiVersion: 'mlform/v1',
    kind: 'TrainingRun',
    metadata: { name: record.name },
    spec: record.spec,
  };
  // The launch id is on record before the spawn: a crash right after it leaves a findable process.
  if (!record.launch) {
    record = { ...record, launch: { id: randomUUID() } };
    await writeJsonAtomic(files.record, record);
  }
  const launchId = record.launch?.id ?? '';
  // A retry of a tuned run whose process died resumes that study rather than starting over.
  await adoptDeadStudy(paths, ctx, record).catch((e: unknown) =>
    ctx.log?.(
      `${runRef(record)} starts a new study: the dead attempt's could not be moved (${errorMessage(e)})`,
    ),
  );
  let pid: number;
  try {
    await writeTextAtomic(files.spec, JSON.stringify(manifest), 0o600);
    ({ pid } = await spawnDetached({
      command: settings.cli.nodePath,
      args: trainArgs(settings.cli.cliPath(), files.spec, record.marker, launchId),
      // Data URIs are absolute; anything else the trainer writes relative lands in the run's folder.
      cwd: files.dir,
      // The trainer checks data against these again before it opens anything (trainer/data).
      env: {
        // Prepared datasets are reused across runs and tuning trials (trainer/data/prepared-cache.ts);
        // an `env` the operator gives the provider wins (childEnv).
        [DATA_CACHE_ENV]: join(stateRoot(settings, ctx), 'cache', 'prepared'),
        ...childEnv(settings, TRAIN_ENV_OVERRIDES),
        [DATA_ROOTS_ENV]: JSON.stringify(record.dataRoots ?? ctx.dataRoots ?? [ctx.projectDir]),
        // A tuning run trains at most this many trials at once: the slots it was given.
        [MAX_LOCAL_TRAININGS_ENV]: String(record.slots ?? 1),
        // Your own trainer: the operator's policy and the state folder to hide (command-runs.ts).
        ...commandLaunchEnv(settings.commands, record.spec, record.manifestPath, stateRoot(settings, ctx)),
      },
      logFile: files.log,
    }));
  } catch (e) {
    return { diagnostics: [stateError(trainingRunAddress(record.name), `launching ${runRef(record)}`, e)] };
  }
  const launched: RunRecord = {
    ...record,
    pid,
    launch: await launchStamp(pid, launchId),
    startedAt: settings.now().toISOString(),
  };
  await writeJsonAtomic(files.record, launched);
  ctx.log?.(`launched ${runRef(record)} (pid ${pid})`);
  return observeRecord(settings, paths, launched, launchScan([]));
}

/** Slots a run holds while it trains: one process, or one per trial worker of a tuning run. */
function slotsWanted(record: RunRecord): number {
  const tuning = (record.spec as { tuning?: { parallel?: unknown } } | undefined)?.tuning;
  const parallel = tuning?.parallel;
  return typeof parallel === 'number' && Number.isInteger(parallel) && parallel > 1 ? parallel : 1;
}

/** Every run record of the state directory, all stacks: slots are the machine's, not a stack's. */
async function loadAllRecords(paths: StatePaths): Promise<RunRecord[]> {
  const names = await listDir(paths.runs);
  const numbers = await listNumberedMany(names.map((name) => paths.runsOf(name)));
  const refs = names.flatMap((name, i) => numbers[i].map((number) => ({ name, number })));
  const read = await readRecords(
    refs.map((ref) => ({ path: runFiles(paths, ref).record, address: trainingRunAddress(ref.name) })),
    RunRecordSchema,
  );
  return read.flatMap((r) => (r.status === 'ok' ? [r.value] : []));
}

/**
 * Starts queued runs of this stack, oldest first, while training slots are free. A slot is held
 * by every run of the state directory (any stack) whose process is alive, cancelled or not, for
 * as many slots as it was given; a damaged record holds none (it cannot be observed either).
 * Another stack's queued runs are left to that stack's own passes, which know its data roots.
 */
async function startQueued(
  settings: LocalSettings,
  ctx: ProviderContext,
  paths: StatePaths,
): Promise<Diagnostic[]> {
  const limit = localTrainingLimit(settings.maxLocalTrainings, limitFromEnv(process.env));
  return withSlotLock(paths.root, async () => {
    const records = (await loadAllRecords(paths)).filter((r) => !r.outcome);
    const unrecorded = records.filter((r) => r.pid === undefined).map((r) => [r, tracked(r)] as const);
    const launched = await findLaunched(unrecorded.map(([, t]) => t));
    const running = new Set(unrecorded.filter(([, t]) => (launched.get(t)?.length ?? 0) > 0).map(([r]) => r));
    let busy = 0;
    for (const r of records) {
      if (r.pid !== undefined ? await isAlive(tracked(r)) : running.has(r)) busy += r.slots ?? 1;
    }
    const queued: RunRecord[] = [];
    for (const r of records) {
      if (r.pid !== undefined || running.has(r) || r.labels['mlform-stack'] !== ctx.stack) continue;
      const files = runFiles(paths, r);
      // Cancelled while queued, finished, or spawned once already (its pid update lost): not queued.
      if ((await exists(files.cancelled)) || (await exists(files.log))) continue;
      if (await exists(join(files.artifact, 'run.json'))) continue;
      queued.push(r);
    }
    queued.sort(
      (a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name) || a.number - b.number,
    );
    const diagnostics: Diagnostic[] = [];
    for (const record of queued) {
      const free = limit - busy;
      if (free < 1) break;
      const slots = Math.min(slotsWanted(record), free);
      const started = await launch(settings, ctx, paths, { ...record, slots });
      diagnostics.push(...started.diagnostics);
      busy += slots;
    }
    return diagnostics;
  });
}

/** Starts what the free slots allow (maybe this run), then observes the run as it now is. */
async function startThenObserve(
  settings: LocalSettings,
  ctx: ProviderContext,
  paths: StatePaths,
  record: RunRecord,
): Promise<Response & { run?: ObservedRun }> {
  const diagnostics = !ctx.readOnly && hasQueued([record]) ? await startQueued(settings, ctx, paths) : [];
  const now = await readRecord(
    runFiles(paths, record).record,
    RunRecordSchema,
    trainingRunAddress(record.name),
  );
  const current = now.status === 'ok' ? now.value : record;
  const observed = await observeRecord(settings, paths, current, launchScan([current]));
  return { run: observed.run, diagnostics: [...diagnostics, ...observed.diagnostics] };
}

/** Whether a pass should look for free slots: this stack has runs recorded without a process. */
const hasQueued = (records: readonly RunRecord[]): boolean =>
  records.some((r) => r.pid === undefined && !r.outcome);

export async function createRun(
  settings: LocalSettings,
  ctx: ProviderContext,
  req: CreateRunRequest,
): Promise<Response & { run?: ObservedRun }> {
  const address = trainingRunAddress(req.name);
  const invalid = checkName(req.name, 'TrainingRun', address);
  if (invalid) return { diagnostics: [invalid] };
  if (!Number.isInteger(req.number) || req.number < 1) {
    return {
      diagnostics: [
        error('local-run-number', `run number ${req.number} is not a positive integer`, { address }),
      ],
    };
  }
  if (!req.spec.trainer.builtin && !req.spec.trainer.command) {
    return {
      diagnostics: [
        error(
          'local-container-trainer',
          `${req.name}: the local provider runs the builtin trainer only, or your own as trainer.command; not a container`,
          {
            address,
            path: ['spec', 'trainer', 'container'],
            hint: 'add `command` (your trainer as a program and its arguments, run in a sandbox), or use `provider: gcp` for the container',
          },
        ),
      ],
    };
  }
  const paths = statePaths(stateRoot(settings, ctx));
  const files = runFiles(paths, req);
  try {
    const existing = await readRecord(files.record, RunRecordSchema, address);
    if (existing.status === 'corrupt') return { diagnostics: [existing.diagnostic] };
    if (existing.status === 'ok') {
      const record = existing.value;
      const owner = foreign(record.labels, ctx.stack, address);
      if (owner) return { diagnostics: [owner] };
      if (record.specHash !== req.specHash) {
        const observed = await observeRecord(settings, paths, record, launchScan([record]));
        return {
          run: observed.run,
          diagnostics: [
            error(
              'local-run-number-taken',
              `run ${runRef(req)} already exists with spec ${record.specHash.slice(0, 12)}, not ${req.specHash.slice(0, 12)}`,
              { address, hint: 'refresh the observed state; the next run number is free' },
            ),
          ],
        };
      }
      return await startThenObserve(settings, ctx, paths, record);
    }

    const manifestPath = resolve(ctx.projectDir, req.manifestPath);
    const gitCommit = await gitCommitOf(ctx, manifestPath);
    const record: RunRecord = {
      formatVersion: 1,
      name: req.name,
      number: req.number,
      specHash: req.specHash,
      labels: { ...req.labels, ...ownershipLabels(ctx.stack, 'TrainingRun', req.name, req.specHash) },
      annotations: req.annotations,
      attempt: req.attempt,
      ...(req.schedule !== undefined && { schedule: req.schedule }),
      createdAt: settings.now().toISOString(),
      manifestPath,
      spec: absoluteDataUris(req.spec, manifestPath),
      manifestSpec: req.spec,
      marker: files.artifact,
      launch: { id: randomUUID() },
      dataRoots: [...(ctx.dataRoots ?? [ctx.projectDir])],
      ...(gitCommit !== undefined && { gitCommit }),
    };
    // Record first, then spawn when a slot is free: a record without a process is a queued run,
    // whether the slots are taken or a crash came between the two.
    await mkdir(files.dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    await writeJsonAtomic(files.record, record);
    return await startThenObserve(settings, ctx, paths, record);
  } catch (e) {
    return { diagnostics: [stateError(address, `creating ${runRef(req)}`, e)] };
  }
}

export async function cancelRun(
  settings: LocalSettings,
  ctx: ProviderContext,
  ref: RunRef,
): Promise<Response> {
  try {
    const found = await lookUp(settings, ctx, ref);
    if (!found.ok) return { diagnostics: found.diagnostics };
    const { record, paths } = found;
    const files = runFiles(paths, record);
    if (record.outcome || (await exists(join(files.artifact, 'run.json')))) return { diagnostics: [] };
    // The marker first: it is what makes the state `cancelled`, even if we die before the signal.
    if (!(await exists(files.cancelled)))
      await writeFile(files.cancelled, `${settings.now().toISOString()}\n`, { mode: PRIVATE_FILE_MODE });
    const processes = await processesOf(record);
    // SIGTERM: the trainer writes its checkpoint and exits 143.
    const outcomes = await Promise.all(processes.map((p) => stopProcess(p, settings.stopTimeoutMs)));
    ctx.log?.(`cancelled ${runRef(ref)}`);
    const unproven = processes.filter((_, i) => outcomes[i] === 'unproven').map((p) => p.pid);
    return {
      diagnostics: unproven.map((pid) =>
        warning(
          'local-process-unproven',
          `${runRef(ref)} is marked cancelled, but process ${pid} was not signalled: it cannot be proven to be the training mlform started`,
          {
            address: trainingRunAddress(ref.name),
            hint: 'a run record written before process stamps, or a record not written by mlform; stop the process yourself if it is yours',
          },
        ),
      ),
    };
  } catch (e) {
    return { diagnostics: [stateError(trainingRunAddress(ref.name), `cancelling ${runRef(ref)}`, e)] };
  }
}

/**
 * The processes to stop for a run: the recorded one, or (no pid recorded: a crash between spawn
 * and the record update) those carrying its marker and launch id, stamped now since the record
 * has no stamp to compare.
 */
async function processesOf(record: RunRecord): Promise<TrackedProcess[]> {
  if (record.pid !== undefined) return [tracked(record)];
  const t = tracked(record);
  const pids = (await findLaunched([t])).get(t) ?? [];
  return Promise.all(
    pids.map(async (pid) => ({ ...t, pid, launch: await launchStamp(pid, record.launch?.id ?? '') })),
  );
}

export async function runLogs(
  settings: LocalSettings,
  ctx: ProviderContext,
  req: RunRef & { from?: number },
): Promise<Response & { lines: string[]; next: number }> {
  const from = req.from ?? 0;
  try {
    const found = await lookUp(settings, ctx, req);
    if (!found.ok) return { lines: [], next: from, diagnostics: found.diagnostics };
    return { ...(await readLogLines(runFiles(found.paths, req).log, from)), diagnostics: [] };
  } catch (e) {
    return {
      lines: [],
      next: from,
      diagnostics: [stateError(trainingRunAddress(req.name), 'reading logs', e)],
    };
  }
}

/** Removes a finished run's folder (schedule history); an active run is left alone. */
export async function deleteFinishedRun(
  settings: LocalSettings,
  ctx: ProviderContext,
  run: ObservedRun,
): Promise<void> {
  if (ACTIVE_RUN_STATES.includes(run.state)) return;
  await removeDir(statePaths(stateRoot(settings, ctx)).run(run.name, run.number));
}
