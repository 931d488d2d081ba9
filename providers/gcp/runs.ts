/**
 * TrainingRuns as Vertex AI CustomJobs, or HyperparameterTuningJobs with `spec.tuning` (README.md
 * "Runs", "Tuning"). Observation: one paged ListCustomJobs and one ListHyperparameterTuningJobs
 * with the stack's label filter, one GCS list of pending markers and one of cached outcomes;
 * metrics.json and run.json are read once per succeeded run, then cached as an outcome object's
 * custom metadata, so a steady-state list costs 4 calls whatever the number of runs.
 */
import pLimit from 'p-limit';
import { runRef, trainingRunAddress } from '../../resources/address.js';
import { error, warning, type Diagnostic } from '../../resources/diagnostic.js';
import { errorMessage } from '../../resources/error-message.js';
import type { CreateRunRequest, ObservedRun, ProviderContext, Response, RunRef } from '../provider.js';
import { callDiagnostic, isKind, type GaxCallOptions } from './call.js';
import { listAll, PROCESS_WRITER, type Gcp } from './context.js';
import { parentOf } from './names.js';
import {
  assignNumbers,
  customJobBody,
  isContainerJob,
  isTuningJob,
  machineOptions,
  runOf,
  stageData,
  tuningJobBody,
  type CustomJob,
  type JobInput,
  type TuningJob,
  type VertexJob,
} from './jobs.js';
import { LABEL } from './names.js';
import type { GcsObject } from './gcs.js';
import { artifactProblem, checkMetrics } from '../../artifact/check.js';
import { CONTRACT_FILES } from '../../artifact/contract.js';
import { ARTIFACT_LIMITS } from '../../artifact/limits.js';
import { TooLargeError } from '../../artifact/storage.js';
import { gitCommitOf } from '../git-commit.js';

/** A run's jobs: ListCustomJobs and ListHyperparameterTuningJobs with the same label filter. */
export async function listJobs(gcp: Gcp, filter: string): Promise<VertexJob[]> {
  const [custom, tuning] = await Promise.all([
    listJobsOf<CustomJob>(gcp, 'ListCustomJobs', filter, (req, opts) =>
      gcp.clients.jobs.listCustomJobs(req, opts),
    ),
    listJobsOf<TuningJob>(gcp, 'ListHyperparameterTuningJobs', filter, (req, opts) =>
      gcp.clients.jobs.listHyperparameterTuningJobs(req, opts),
    ),
  ]);
  return [...custom, ...tuning];
}

interface JobListRequest {
  parent: string;
  filter: string;
  pageSize: number;
  pageToken?: string;
}

/** Every page of one job list RPC in the training region. */
function listJobsOf<J>(
  gcp: Gcp,
  rpc: string,
  filter: string,
  page: (req: JobListRequest, opts: GaxCallOptions) => Promise<unknown>,
): Promise<J[]> {
  const { project, trainingRegion } = gcp.settings;
  return listAll(
    gcp.call,
    'aiplatform',
    rpc,
    { parent: parentOf(project, trainingRegion), filter, pageSize: 100 } as JobListRequest,
    (req, opts) => page(req, opts) as Promise<[J[], JobListRequest | null, unknown]>,
  );
}

const stackFilter = (stack: string) =>
  `labels.${LABEL.stack}="${stack}" AND labels.${LABEL.kind}="trainingrun"`;
const nameFilter = (stack: string, name: string) =>
  `${stackFilter(stack)} AND labels.${LABEL.name}="${name}"`;

// ---- outcomes ------------------------------------------------------------------------------

/** Custom metadata of an outcome object that marks its run dropped by a Schedule's `history`. */
export const PRUNED = 'pruned';

interface Outcome {
  metrics: Record<string, number>;
  baseline: Record<string, number>;
  dataSha256?: string;
  gitCommit?: string;
  /** Set when the job succeeded but its artifact breaks the contract: the run failed. */
  error?: string;
}

const finite = (values: unknown): Record<string, number> =>
  values && typeof values === 'object'
    ? Object.fromEntries(
        Object.entries(values as Record<string, unknown>).filter(
          (e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]),
        ),
      )
    : {};

function outcomeFromMetadata(m: Record<string, string>): Outcome | undefined {
  try {
    return {
      metrics: finite(JSON.parse(m.metrics ?? '{}')),
      baseline: finite(JSON.parse(m.baseline ?? '{}')),
      ...(m.dataSha256 && { dataSha256: m.dataSha256 }),
      ...(m.gitCommit && { gitCommit: m.gitCommit }),
      ...(m.error && { error: m.error }),
    };
  } catch {
    return undefined;
  }
}

/** Reads a succeeded run's metrics.json and run.json once, and caches them as an outcome object. */
async function readOutcome(gcp: Gcp, stack: string, run: ObservedRun, container: boolean): Promise<Outcome> {
  const outcome = container ? await containerOutcome(gcp, run) : await builtinOutcome(gcp, run);
  const metadata: Record<string, string> = {
    metrics: JSON.stringify(outcome.metrics),
    baseline: JSON.stringify(outcome.baseline),
    ...(outcome.dataSha256 && { dataSha256: outcome.dataSha256 }),
    ...(outcome.gitCommit && { gitCommit: outcome.gitCommit }),
    ...(outcome.error && { error: outcome.error }),
  };
  // A cache: losing the write only costs the two reads again next time.
  await gcp.gcs
    .write(gcp.layout(stack).outcome(run.name, run.number), JSON.stringify(outcome), { metadata })
    .catch(() => undefined);
  return outcome;
}

async function builtinOutcome(gcp: Gcp, run: ObservedRun): Promise<Outcome> {
  const dir = run.artifactUri ?? '';
  const [metricsText, runText] = await Promise.all([
    gcp.gcs.read(`${dir}/metrics.json`),
    gcp.gcs.read(`${dir}/run.json`).catch(() => undefined),
  ]);
  const metrics = JSON.parse(metricsText.toString('utf8')) as { metrics?: unknown; baseline?: unknown };
  const runJson = runText
    ? (JSON.parse(runText.toString('utf8')) as { data?: { sha256?: string }; gitCommit?: string })
    : {};
  return {
    metrics: finite(metrics.metrics),
    baseline: finite(metrics.baseline),
    ...(runJson.data?.sha256 && { dataSha256: runJson.data.sha256 }),
    ...((runJson.gitCommit ?? run.gitCommit) !== undefined && {
      gitCommit: runJson.gitCommit ?? run.gitCommit,
    }),
  };
}

/**
 * Your own trainer's outcome: metrics.json checked against the contract (checkMetrics), so gates
 * and aliases work as for builtin runs, and a run whose artifact breaks it fails with the file and
 * field rather than being registered without metrics. Lineage comes from the job (spec hash, git
 * commit), never from a run.json the container may have written.
 */
async function containerOutcome(gcp: Gcp, run: ObservedRun): Promise<Outcome> {
  const uri = `${run.artifactUri ?? ''}/${CONTRACT_FILES.metrics}`;
  const lineage = { ...(run.gitCommit !== undefined && { gitCommit: run.gitCommit }) };
  const failed = (error: string): Outcome => ({ metrics: {}, baseline: {}, ...lineage, error });
  let found;
  try {
    found = await gcp.gcs.readIfExists(uri, { maxBytes: ARTIFACT_LIMITS.jsonBytes });
  } catch (e) {
    if (e instanceof TooLargeError) return failed(`the trainer's ${e.message}`);
    throw e;
  }
  if (!found) {
    return failed(
      `the trainer exited 0 but wrote no ${CONTRACT_FILES.metrics} to ${run.artifactUri} (AIP_MODEL_DIR); see docs/artifact.md`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(found.data.toString('utf8'));
  } catch (e) {
    return failed(`${CONTRACT_FILES.metrics}: not JSON: ${errorMessage(e)}`);
  }
  const checked = checkMetrics(value);
  const errors = checked.diagnostics.filter((d) => d.severity === 'error');
  if (!checked.metrics || errors.length > 0) {
    return failed(
      `${errors.map(artifactProblem).join('; ')} (mlform artifact check ${run.artifactUri ?? ''})`,
    );
  }
  return { metrics: finite(checked.metrics.metrics), baseline: finite(checked.metrics.baseline), ...lineage };
}

const withOutcome = (run: ObservedRun, o: Outcome): ObservedRun =>
  o.error !== undefined
    ? {
        ...run,
        state: 'failed',
        error: o.error,
        ...(o.gitCommit !== undefined && { gitCommit: o.gitCommit }),
      }
    : {
        ...run,
        metrics: o.metrics,
        baseline: o.baseline,
        ...(o.dataSha256 !== undefined && { dataSha256: o.dataSha256 }),
        ...(o.gitCommit !== undefined && { gitCommit: o.gitCommit }),
      };

/** `<prefix><name>/<number>.json` -> {name, number} */
function refOfObject(prefixName: string, object: GcsObject): RunRef | undefined {
  const rest = object.name.slice(prefixName.length);
  const m = /^([^/]+)\/(\d+)\.json$/.exec(rest);
  return m ? { name: m[1], number: Number(m[2]) } : undefined;
}

const objectPrefix = (uri: string) => uri.replace(/^gs:\/\/[^/]+\//, '');

// ---- observation ---------------------------------------------------------------------------

interface Observation {
  runs: ObservedRun[];
  diagnostics: Diagnostic[];
}

async function observeJobs(
  gcp: Gcp,
  ctx: ProviderContext,
  jobs: VertexJob[],
  pending: GcsObject[],
  outcomes: GcsObject[],
  onlyName?: string,
): Promise<Observation> {
  const layout = gcp.layout(ctx.stack);
  const diagnostics: Diagnostic[] = [];
  const byName = new Map<string, VertexJob[]>();
  for (const job of jobs) {
    const name = job.labels?.[LABEL.name];
    if (!name || job.labels?.[LABEL.stack] !== ctx.stack) continue;
    if (onlyName !== undefined && name !== onlyName) continue;
    byName.set(name, [...(byName.get(name) ?? []), job]);
  }
  const outcomeOf = new Map<string, Outcome>();
  // Runs a Schedule's `history` dropped (history.ts): numbered with the others, never listed.
  const pruned = new Set<string>();
  const outcomePrefix = objectPrefix(layout.outcomePrefix);
  for (const o of outcomes) {
    const ref = refOfObject(outcomePrefix, o);
    if (ref && o.metadata[PRUNED] !== undefined) {
      pruned.add(runRef(ref));
      continue;
    }
    const parsed = ref && outcomeFromMetadata(o.metadata);
    if (ref && parsed) outcomeOf.set(runRef(ref), parsed);
  }

  const runs: ObservedRun[] = [];
  const containerRuns = new Set<string>();
  for (const group of byName.values()) {
    const numbers = assignNumbers(group);
    for (const job of group) {
      const run = runOf(job, numbers.get(job) ?? 0);
      if (pruned.has(runRef(run))) continue;
      runs.push(run);
      if (isContainerJob(job)) containerRuns.add(runRef(run));
    }
  }

  const limit = pLimit(8);
  const observed = await Promise.all(
    runs.map(async (run) => {
      if (run.state !== 'succeeded') return run;
      const cached = outcomeOf.get(runRef(run));
      if (cached) return withOutcome(run, cached);
      try {
        const container = containerRuns.has(runRef(run));
        return withOutcome(run, await limit(() => readOutcome(gcp, ctx.stack, run, container)));
      } catch (e) {
        diagnostics.push(
          warning(
            'gcp-run-metrics',
            `${runRef(run)} succeeded but its metrics could not be read: ${errorMessage(e)}`,
            {
              address: trainingRunAddress(run.name),
              hint: `check ${run.artifactUri ?? 'the artifact'}/metrics.json`,
            },
          ),
        );
        return run;
      }
    }),
  );

  // Pending markers: a create in flight (fresh) or interrupted (stale); removed once the job is seen.
  const seen = new Set([...observed.map(runRef), ...pruned]);
  const pendingPrefix = objectPrefix(layout.pendingPrefix);
  for (const marker of pending) {
    const ref = refOfObject(pendingPrefix, marker);
    if (!ref || (onlyName !== undefined && ref.name !== onlyName)) continue;
    if (seen.has(runRef(ref))) {
      await gcp.gcs.remove(marker.uri).catch(() => undefined);
      continue;
    }
    const m = marker.metadata;
    const state = pendingOf(gcp, ctx, marker);
    if (!state) continue;
    const { createdAt, fresh } = state;
    observed.push({
      name: ref.name,
      number: ref.number,
      specHash: m.specHash ?? '',
      state: fresh ? 'queued' : 'failed',
      attempt: Number(m.attempt ?? '1') || 1,
      ...(m.schedule && { schedule: m.schedule }),
      createdAt,
      ...(!fresh && {
        error: 'the launch was interrupted before Vertex AI accepted the job; apply again to launch it',
      }),
      annotations: parseAnnotations(m.annotations),
    });
  }
  observed.sort((a, b) => a.name.localeCompare(b.name) || a.number - b.number);
  return { runs: observed, diagnostics };
}

/**
 * What a pending marker without a listed job means, the one check for observation and create:
 * `undefined` when it was written by an apply that no longer holds the lock (we do; locks are
 * exclusive, so its create never landed or the job would be listed: not a run, the engine launches
 * the same number again); else a create in flight while younger than the grace period (`fresh`),
 * an interrupted one after.
 */
function pendingOf(
  gcp: Gcp,
  ctx: ProviderContext,
  marker: GcsObject,
): { createdAt: string; fresh: boolean } | undefined {
  if (ctx.applyLock !== undefined && marker.metadata.writer !== PROCESS_WRITER) return undefined;
  const now = gcp.settings.now();
  const createdAt = marker.metadata.createdAt ?? marker.updated ?? now.toISOString();
  return { createdAt, fresh: now.getTime() - Date.parse(createdAt) < gcp.settings.pendingGraceMs };
}

function parseAnnotations(text: string | undefined): Record<string, string> {
  try {
    const v = JSON.parse(text ?? '{}') as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
  } catch {
    return {};
  }
}

export async function listRuns(gcp: Gcp, ctx: ProviderContext): Promise<Response & { items: ObservedRun[] }> {
  const layout = gcp.layout(ctx.stack);
  try {
    const [jobs, pending, outcomes] = await Promise.all([
      listJobs(gcp, stackFilter(ctx.stack)),
      gcp.gcs.list(layout.pendingPrefix),
      gcp.gcs.list(layout.outcomePrefix),
    ]);
    const { runs, diagnostics } = await observeJobs(gcp, ctx, jobs, pending, outcomes);
    return { items: runs, diagnostics };
  } catch (e) {
    return { items: [], diagnostics: [callDiagnostic('TrainingRun', 'listing runs', e)] };
  }
}

/** The runs of one name, observed (the same numbering as the full list). */
export async function listRunsNamed(
  gcp: Gcp,
  ctx: ProviderContext,
  name: string,
): Promise<{ runs: ObservedRun[]; jobs: Map<string, VertexJob>; diagnostics: Diagnostic[] }> {
  const layout = gcp.layout(ctx.stack);
  const [jobs, pending, outcomes] = await Promise.all([
    listJobs(gcp, nameFilter(ctx.stack, name)),
    gcp.gcs.list(`${layout.pendingPrefix}${name}/`),
    gcp.gcs.list(`${layout.outcomePrefix}${name}/`),
  ]);
  const numbers = assignNumbers(jobs);
  const byRef = new Map<string, VertexJob>();
  for (const job of jobs) byRef.set(runRef({ name, number: numbers.get(job) ?? 0 }), job);
  const { runs, diagnostics } = await observeJobs(gcp, ctx, jobs, pending, outcomes, name);
  return { runs, jobs: byRef, diagnostics };
}

export async function observeRun(
  gcp: Gcp,
  ctx: ProviderContext,
  ref: RunRef,
): Promise<Response & { run?: ObservedRun }> {
  try {
    const { runs, diagnostics } = await listRunsNamed(gcp, ctx, ref.name);
    const run = runs.find((r) => r.number === ref.number);
    if (!run) {
      return {
        diagnostics: [
          ...diagnostics,
          error('gcp-run-not-found', `run ${runRef(ref)} does not exist`, {
            address: trainingRunAddress(ref.name),
          }),
        ],
      };
    }
    return { run, diagnostics };
  } catch (e) {
    return { diagnostics: [callDiagnostic(trainingRunAddress(ref.name), `observing ${runRef(ref)}`, e)] };
  }
}

// ---- create --------------------------------------------------------------------------------

type CreateResponse = Response & { run?: ObservedRun };

/** Looks the run up by its labels (after a lost response the job may exist). */
async function findJob(
  gcp: Gcp,
  stack: string,
  name: string,
  number: number,
): Promise<VertexJob | undefined> {
  const jobs = await listJobs(gcp, `${nameFilter(stack, name)} AND labels.${LABEL.run}="${number}"`);
  return jobs[0];
}

/** Idempotent by (name, number): the job of this number, if Vertex AI has it already. */
async function existingRun(
  gcp: Gcp,
  ctx: ProviderContext,
  req: CreateRunRequest,
): Promise<CreateResponse | undefined> {
  const existing = await findJob(gcp, ctx.stack, req.name, req.number);
  if (!existing) return undefined;
  const run = runOf(existing, req.number);
  if (run.specHash === req.specHash) return { run, diagnostics: [] };
  return {
    run,
    diagnostics: [
      error(
        'gcp-run-number-taken',
        `run ${runRef(req)} already exists with spec ${run.specHash.slice(0, 12)}, not ${req.specHash.slice(0, 12)}`,
        {
          address: trainingRunAddress(req.name),
          hint: 'refresh the observed state; the next run number is free',
        },
      ),
    ],
  };
}

/** A fresh pending marker of a live writer: another apply is creating this run right now. */
async function createInFlight(
  gcp: Gcp,
  ctx: ProviderContext,
  req: CreateRunRequest,
): Promise<CreateResponse | undefined> {
  const markerUri = gcp.layout(ctx.stack).pending(req.name, req.number);
  const marker = (await gcp.gcs.list(markerUri)).find((o) => o.uri === markerUri);
  const pending = marker && pendingOf(gcp, ctx, marker);
  if (!pending?.fresh) return undefined;
  ctx.log?.(`${runRef(req)} is being created by another apply (pending marker); not creating it again`);
  return {
    run: {
      name: req.name,
      number: req.number,
      specHash: req.specHash,
      state: 'queued',
      attempt: req.attempt,
      createdAt: pending.createdAt,
      annotations: req.annotations,
      ...(req.schedule !== undefined && { schedule: req.schedule }),
    },
    diagnostics: [],
  };
}

/** Copies `file://` data to the bucket and builds what the job bodies are made from. */
async function stageInput(
  gcp: Gcp,
  ctx: ProviderContext,
  req: CreateRunRequest,
): Promise<JobInput & { number: number }> {
  const manifestPath = req.manifestPath.startsWith('/')
    ? req.manifestPath
    : `${ctx.projectDir}/${req.manifestPath}`;
  const spec = await stageData(gcp.gcs, gcp.layout(ctx.stack), req.spec, manifestPath);
  // Lineage: the job carries the commit (MLFORM_GIT_COMMIT), and listing reads it back.
  const gitCommit = await gitCommitOf(ctx, manifestPath);
  // Resolved (and for `{create: true}` created) only here, when a run is launched: never by a plan.
  const tensorboard = await gcp.tensorboards?.instanceFor(ctx.stack, ctx.signal);
  return {
    stack: ctx.stack,
    name: req.name,
    number: req.number,
    spec,
    specHash: req.specHash,
    attempt: req.attempt,
    labels: req.labels,
    annotations: req.annotations,
    ...(req.schedule !== undefined && { schedule: req.schedule }),
    manifestDataUri: req.spec.trainer.builtin?.data.uri ?? '',
    ...(gitCommit !== undefined && { gitCommit }),
    ...(tensorboard !== undefined && { tensorboard }),
  };
}

/** The pending marker: the run is in flight until Vertex AI lists its job (README.md "Runs"). */
async function writeMarker(gcp: Gcp, ctx: ProviderContext, req: CreateRunRequest): Promise<string> {
  const markerUri = gcp.layout(ctx.stack).pending(req.name, req.number);
  await gcp.gcs.write(
    markerUri,
    JSON.stringify({ name: req.name, number: req.number, specHash: req.specHash }),
    {
      metadata: {
        createdAt: gcp.settings.now().toISOString(),
        writer: PROCESS_WRITER,
        specHash: req.specHash,
        attempt: String(req.attempt),
        annotations: JSON.stringify(req.annotations),
        ...(req.schedule !== undefined && { schedule: req.schedule }),
      },
    },
  );
  return markerUri;
}

/**
 * Creates the job for one machine option. A retryable failure may have happened after Vertex AI
 * acted (the response was lost), so before the next attempt the job is looked up by its labels.
 */
async function createJob(
  gcp: Gcp,
  ctx: ProviderContext,
  input: JobInput & { number: number },
  body: { custom: CustomJob } | { tuning: TuningJob },
): Promise<VertexJob> {
  const parent = parentOf(gcp.settings.project, gcp.settings.trainingRegion);
  const options = {
    signal: ctx.signal,
    lookUpAfterFailure: () => findJob(gcp, ctx.stack, input.name, input.number),
  };
  if ('tuning' in body) {
    return gcp.call(
      'aiplatform',
      'CreateHyperparameterTuningJob',
      async (opts): Promise<VertexJob> =>
        (
          await gcp.clients.jobs.createHyperparameterTuningJob(
            { parent, hyperparameterTuningJob: body.tuning },
            opts,
          )
        )[0],
      options,
    );
  }
  return gcp.call(
    'aiplatform',
    'CreateCustomJob',
    async (opts): Promise<VertexJob> =>
      (await gcp.clients.jobs.createCustomJob({ parent, customJob: body.custom }, opts))[0],
    options,
  );
}

/**
 * Submits the job on the first machine option with capacity (`resources.fallbacks` in order). On
 * a final failure the marker goes: nothing was created, and it would only make the run look in
 * flight.
 */
async function submitJob(
  gcp: Gcp,
  ctx: ProviderContext,
  req: CreateRunRequest,
  input: JobInput & { number: number },
  markerUri: string,
): Promise<CreateResponse> {
  const address = trainingRunAddress(req.name);
  const layout = gcp.layout(ctx.stack);
  const options = machineOptions(input.spec);
  // README.md "Tuning": a HyperparameterTuningJob, unless the in-job search is configured.
  const tuned = input.spec.tuning !== undefined && gcp.settings.tuning === 'vertex';
  const skipped: string[] = [];
  for (let i = 0; i < options.length; i++) {
    try {
      const job = await createJob(
        gcp,
        ctx,
        input,
        tuned
          ? { tuning: tuningJobBody(gcp.settings, layout, input, i) }
          : { custom: customJobBody(gcp.settings, layout, input, i) },
      );
      const used = describeMachine(options[i]);
      ctx.log?.(`created ${runRef(req)} as ${job.name ?? '?'} on ${used}${i > 0 ? ` (fallback ${i})` : ''}`);
      const diagnostics: Diagnostic[] =
        i > 0
          ? [
              warning(
                'gcp-fallback-used',
                `${runRef(req)} runs on fallback ${i} (${used}): ${skipped.join('; ')}`,
                {
                  address,
                  path: ['spec', 'resources', 'fallbacks', i - 1],
                },
              ),
            ]
          : [];
      return { run: runOf(job, req.number), diagnostics };
    } catch (e) {
      if (isKind(e, 'capacity') && i + 1 < options.length) {
        skipped.push(`${describeMachine(options[i])}: ${e.classified.message}`);
        ctx.log?.(`${runRef(req)}: no capacity for ${describeMachine(options[i])}; trying the next fallback`);
        continue;
      }
      await gcp.gcs.remove(markerUri).catch(() => undefined);
      const d = callDiagnostic(address, `creating ${runRef(req)} on ${describeMachine(options[i])}`, e);
      return {
        diagnostics: [
          skipped.length > 0 ? { ...d, message: `${d.message} (after: ${skipped.join('; ')})` } : d,
        ],
      };
    }
  }
  return { diagnostics: [error('gcp-run', `${runRef(req)}: no machine option`, { address })] };
}

/** Creates run `name#number`: nothing when it exists or is being created, else marker then job. */
export async function createRun(
  gcp: Gcp,
  ctx: ProviderContext,
  req: CreateRunRequest,
): Promise<CreateResponse> {
  const address = trainingRunAddress(req.name);
  if (!Number.isInteger(req.number) || req.number < 1) {
    return {
      diagnostics: [
        error('gcp-run-number', `run number ${req.number} is not a positive integer`, { address }),
      ],
    };
  }
  try {
    const known = (await existingRun(gcp, ctx, req)) ?? (await createInFlight(gcp, ctx, req));
    if (known) return known;
    const input = await stageInput(gcp, ctx, req);
    const markerUri = await writeMarker(gcp, ctx, req);
    return await submitJob(gcp, ctx, req, input, markerUri);
  } catch (e) {
    return { diagnostics: [callDiagnostic(address, `creating ${runRef(req)}`, e)] };
  }
}

const describeMachine = (m: { machineType: string; accelerator?: { type: string; count: number } }) =>
  m.accelerator ? `${m.machineType} + ${m.accelerator.count}x ${m.accelerator.type}` : m.machineType;

// ---- cancel, logs --------------------------------------------------------------------------

export async function cancelRun(gcp: Gcp, ctx: ProviderContext, ref: RunRef): Promise<Response> {
  const address = trainingRunAddress(ref.name);
  try {
    const { jobs } = await listRunsNamed(gcp, ctx, ref.name);
    const job = jobs.get(runRef(ref));
    if (!job?.name) {
      return { diagnostics: [error('gcp-run-not-found', `run ${runRef(ref)} does not exist`, { address })] };
    }
    const state = runOf(job, ref.number).state;
    if (state !== 'queued' && state !== 'running') return { diagnostics: [] };
    const jobName = job.name;
    if (isTuningJob(job)) {
      await gcp.call('aiplatform', 'CancelHyperparameterTuningJob', (opts) =>
        gcp.clients.jobs.cancelHyperparameterTuningJob({ name: jobName }, opts),
      );
    } else {
      await gcp.call('aiplatform', 'CancelCustomJob', (opts) =>
        gcp.clients.jobs.cancelCustomJob({ name: jobName }, opts),
      );
    }
    ctx.log?.(`cancelled ${runRef(ref)}`);
    return { diagnostics: [] };
  } catch (e) {
    if (isKind(e, 'precondition')) return { diagnostics: [] }; // already finished
    return { diagnostics: [callDiagnostic(address, `cancelling ${runRef(ref)}`, e)] };
  }
}

/** The trainer logs to stdout, which Vertex AI sends to Cloud Logging: point there. */
export async function runLogs(
  gcp: Gcp,
  ctx: ProviderContext,
  req: RunRef & { from?: number },
): Promise<Response & { lines: string[]; next: number }> {
  const from = req.from ?? 0;
  try {
    const { jobs } = await listRunsNamed(gcp, ctx, req.name);
    const job = jobs.get(runRef(req));
    if (!job?.name) {
      return {
        lines: [],
        next: from,
        diagnostics: [
          error('gcp-run-not-found', `run ${runRef(req)} does not exist`, {
            address: trainingRunAddress(req.name),
          }),
        ],
      };
    }
    const id = job.name.split('/').pop() ?? '';
    const { project, trainingRegion } = gcp.settings;
    const lines = isTuningJob(job)
      ? [
          `logs of ${runRef(req)} (${job.name}, one trial per CustomJob) are in Cloud Logging:`,
          `  https://console.cloud.google.com/vertex-ai/locations/${trainingRegion}/training/${id}?project=${project}`,
          `  gcloud ai hp-tuning-jobs describe ${id} --region=${trainingRegion} --project=${project}`,
        ]
      : [
          `logs of ${runRef(req)} (${job.name}) are in Cloud Logging:`,
          `  https://console.cloud.google.com/vertex-ai/locations/${trainingRegion}/training/${id}/cpu?project=${project}`,
          `  gcloud ai custom-jobs stream-logs ${id} --region=${trainingRegion} --project=${project}`,
        ];
    return { lines: from === 0 ? lines : [], next: lines.length, diagnostics: [] };
  } catch (e) {
    return {
      lines: [],
      next: from,
      diagnostics: [callDiagnostic(trainingRunAddress(req.name), 'reading logs', e)],
    };
  }
}
