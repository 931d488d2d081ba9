/**
 * `GET /api/v1/trainingruns/:name?run=N`: the runs of a TrainingRun (newest first, paged) and one
 * of them in detail: progress, metrics, lineage, the curves from its `epoch` events (history.json
 * once succeeded), the baseline as reference lines, model health from metrics.json, the log tail
 * and, for a tuned run, its trials.
 */
import { ARTIFACT_FILES } from '../../../artifact/files.js';
import type { TrainingRunSpec } from '../../../resources/training-run.js';
import { ACTIVE_RUN_STATES, type ObservedRun } from '../../../providers/provider.js';
import { TUNING_FILE, type TuningFile } from '../../../trainer/tuning/tuning-file.js';
import { formatMetric } from '../../engine/gate.js';
import type { ApiRoute, RunDetail, RunSummary, TrainingRunDoc } from '../api.js';
import type { StackSnapshot, ViewIO, ViewResult } from '../snapshot.js';
import { readArtifactJson } from './artifact-json.js';
import { documentHeader } from './document-header.js';
import { notFound } from './not-found.js';
import { itemOf, runDetailText } from './resource-items.js';
import { curvesOf, historyCurves, type Curves } from './run-events.js';
import { healthOf } from './run-health.js';
import type { ViewMemory } from './view-memory.js';
import { cleanOptional, cleanText } from './safe-text.js';
import { specYaml } from './spec-yaml.js';
import { gateMetricOf, modelOfRun, namesOf, stackIndex, trainingRunSpecOf } from './stack-index.js';
import { isTuningFile, tuningOf } from './tuning-trials.js';

type RunRoute = Extract<ApiRoute, { view: 'trainingrun' }>;

export function runSummary(run: ObservedRun, gateMetric: string | undefined): RunSummary {
  return {
    number: run.number,
    state: run.state,
    attempt: run.attempt,
    schedule: run.schedule ?? null,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt ?? null,
    specHash: run.specHash,
    detail: runDetailText(run, gateMetric),
  };
}

export async function buildTrainingRun(
  route: RunRoute,
  snapshot: StackSnapshot,
  io: ViewIO,
  memory: ViewMemory,
): Promise<ViewResult> {
  const index = stackIndex(snapshot);
  const now = io.now();
  const resource = itemOf(index, 'TrainingRun', route.name, now);
  if (!resource) return notFound('TrainingRun', route.name, namesOf(index, 'TrainingRun'));
  const runs = index.runsByName.get(route.name) ?? [];
  const chosen = route.run === undefined ? runs[0] : runs.find((r) => r.number === route.run);
  if (route.run !== undefined && !chosen) {
    return {
      status: 404,
      error: {
        error: `TrainingRun "${route.name}" has no run #${route.run}`,
        hint:
          runs.length > 0
            ? `its runs are #1 to #${runs[0].number}; the newest is #${runs[0].number}`
            : 'it has no runs yet',
      },
    };
  }
  const gate = gateMetricOf(index, modelOfRun(index, route.name));
  const spec = trainingRunSpecOf(index, route.name);
  const doc: TrainingRunDoc = {
    ...documentHeader(snapshot),
    resource,
    specYaml: specYaml(spec),
    runs: runs.slice(0, route.limit).map((r) => runSummary(r, gate)),
    runsTotal: runs.length,
    run: chosen ? await runDetail(chosen, chosen.spec ?? spec, gate, io, memory) : null,
  };
  return { status: 200, doc };
}

/** An active run is observed afresh: the snapshot may be a reconcile old, the page is live. */
async function freshRun(run: ObservedRun, io: ViewIO): Promise<ObservedRun> {
  if (!ACTIVE_RUN_STATES.includes(run.state)) return run;
  try {
    const observed = await io.provider.trainingRuns.observe(io.ctx, { name: run.name, number: run.number });
    return observed.run ?? run;
  } catch {
    return run;
  }
}

async function runDetail(
  snapshotRun: ObservedRun,
  spec: TrainingRunSpec | undefined,
  gate: string | undefined,
  io: ViewIO,
  memory: ViewMemory,
): Promise<RunDetail> {
  const run = await freshRun(snapshotRun, io);
  const log = await memory.logs.read(io, run);
  const artifact = run.state === 'succeeded' && run.artifactUri !== undefined ? run.artifactUri : undefined;
  const files = artifact
    ? await memory.runFiles.get(io.provider, `${artifact}\u0000${spec?.tuning ? 'tuned' : ''}`, () =>
        finishedRunFiles(io, artifact, spec?.tuning !== undefined),
      )
    : undefined;
  const fromLog = curvesOf(log.epochs, log.seriesNames);
  const curves = preferHistory(files?.history, fromLog);
  const baseline = run.baseline ?? {};
  const builtin = spec?.trainer.builtin !== undefined;
  const names = new Set(curves.series.map((s) => s.name));
  const p = run.progress;
  return {
    ...runSummary(run, gate),
    progress:
      p && ACTIVE_RUN_STATES.includes(run.state)
        ? { epoch: p.epoch, epochs: p.epochs, etaSeconds: p.etaSeconds ?? null, trial: p.trial ?? null }
        : null,
    metrics: { ...(run.metrics ?? {}) },
    baseline: { ...baseline },
    error: cleanOptional(run.error),
    dataSha256: run.dataSha256 ?? null,
    gitCommit: run.gitCommit ?? null,
    artifactUri: cleanOptional(run.artifactUri),
    tensorboardDir: artifact
      ? cleanText(`${artifact.replace(/\/+$/, '')}/${ARTIFACT_FILES.tensorboard}`)
      : null,
    curves,
    // The baseline is in target units; the builtin trainer's curves (as in TensorBoard) are on the
    // standardized target, so its lines are scaled the same way. Other trainers report their own.
    baselineLines: Object.fromEntries(
      Object.entries(baseline).flatMap(([name, value]) => {
        if (!names.has(name)) return [];
        const line = builtin && files?.targetStd ? standardized(name, value, files.targetStd) : value;
        return line === undefined ? [] : [[name, line]];
      }),
    ),
    curvesNote:
      builtin && files?.targetStd
        ? `The builtin trainer reports its epochs on the standardized target (value / ${formatMetric(files.targetStd)}, the target's standard deviation), as in TensorBoard; the baseline lines are scaled the same way`
        : null,
    health: files?.health ?? null,
    logTail: [...log.tail],
    tuning: spec?.tuning ? tuningOf(spec.tuning, log, files?.tuning) : null,
  };
}

/** What a succeeded run's artifact adds, read once per artifact (it no longer changes). */
/**
 * A baseline metric in the standardized target's units: errors in target units scale by the
 * standard deviation, squared errors by its square, ratios (r2, smape, accuracy) not at all; a loss
 * (possibly Huber) has no such map and gets no line.
 */
function standardized(name: string, value: number, std: number): number | undefined {
  if (/(^|_)(mae|rmse)$/.test(name)) return value / std;
  if (/(^|_)mse$/.test(name)) return value / (std * std);
  if (/(^|_)loss$/.test(name)) return undefined;
  return value;
}

export interface FinishedRunFiles {
  history: Curves | undefined;
  health: RunDetail['health'];
  /** tuning.json when it is one (schema-checked); undefined for an untuned run or a bad file. */
  tuning: TuningFile | undefined;
  /** The builtin trainer's target standard deviation: its curves are on the standardized target. */
  targetStd: number | undefined;
}

async function finishedRunFiles(io: ViewIO, artifact: string, tuned: boolean): Promise<FinishedRunFiles> {
  const [metricsFile, history, tuning, preprocess] = await Promise.all([
    readArtifactJson(io, artifact, ARTIFACT_FILES.metrics),
    readArtifactJson(io, artifact, ARTIFACT_FILES.history),
    tuned ? readArtifactJson(io, artifact, TUNING_FILE) : undefined,
    readArtifactJson(io, artifact, ARTIFACT_FILES.preprocess),
  ]);
  const target = (preprocess as { target?: { type?: unknown; std?: unknown } } | undefined)?.target;
  return {
    targetStd:
      target?.type === 'numeric' && typeof target.std === 'number' && target.std > 0 ? target.std : undefined,
    history: historyCurves(history),
    health: healthOf(metricsFile),
    tuning: isTuningFile(tuning) ? tuning : undefined,
  };
}

/**
 * history.json is complete where the log may be cut (4 MiB) or gone; it is used when it covers
 * at least the epochs the log reported, so a stale or foreign file never hides what the log shows.
 */
function preferHistory(history: Curves | undefined, fromLog: Curves): Curves {
  if (!history) return fromLog;
  const covered = new Set(history.epochs);
  return fromLog.epochs.every((e) => covered.has(e)) ? history : fromLog;
}
