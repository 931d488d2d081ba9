/**
 * Hyperparameter search for a TrainingRun with `spec.tuning`: sample the trials, train them in
 * rungs (one rung for `random`, successive halving for `halving`), `parallel` at a time, each into
 * `<outDir>/trials/<k>/` as a full artifact; then copy the best one into `<outDir>`, which is
 * thereby a normal artifact, and record everything in `<outDir>/tuning.json`.
 *
 * A failed trial is recorded and the search goes on; the search fails only when no trial
 * succeeds, or at once when the tuning metric does not exist (every trial would be unrankable).
 * Aborting stops launching trials and stops the running ones (their checkpoints are kept, so
 * running the search again on the same directory resumes them).
 */
import { errorMessage } from '../../resources/error-message.js';
import pLimit from 'p-limit';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { specHash } from '../../resources/spec-hash.js';
import { ARTIFACT_FILES, readJsonFile, writeJsonFile, type MetricsFile } from '../../artifact/files.js';
import type { RunTrainingOptions, RunTrainingResult } from '../run-training.js';
import { joinUri } from '../../artifact/storage.js';
import { scoreTrial, selectBest } from './objectives/index.js';
import { promoteArtifact } from './promote-artifact.js';
import { topTrials } from './ranking.js';
import { HALVING_ETA, halvingSchedule, randomSchedule, trialBudget, type Rung } from './schedule.js';
import type { TrialParams } from './search-space.js';
import { createSampler } from './samplers/index.js';
import { processLauncher, type LaunchContext, type TrialLauncher } from './trial-launcher.js';
import { trialSpec as buildTrialSpec, withEpochs } from './trial-spec.js';
import { trialWorkers } from './worker-limit.js';
import { writeStudyVisuals } from './visualise/index.js';
import { TRIALS_DIR, TUNING_FILE, type TrialRecord, type TrialRun, type TuningFile } from './tuning-file.js';

export interface RunTuningOptions extends RunTrainingOptions {
  /** How trials train (default: one child process each). */
  launcher?: TrialLauncher;
}

/** The search as a whole cannot produce an artifact. */
export class TuningError extends Error {
  override name = 'TuningError';
}

const isAbort = (error: unknown): boolean => error instanceof Error && error.name === 'AbortError';

interface Trial {
  record: TrialRecord;
  /** Undefined when the sampled values make an invalid spec (the trial is failed from the start). */
  spec?: TrainingRunSpec;
  /** Its artifact directory (a path or gs:// URI); `record.dir` is the same relative to the run's. */
  dir: string;
}

export async function runTuning(options: RunTuningOptions): Promise<RunTrainingResult> {
  const { spec } = options;
  const tuning = spec.tuning;
  const builtin = spec.trainer.builtin;
  if (!tuning || !builtin) throw new TuningError('tuning needs spec.tuning and trainer.builtin');
  const search = new Search(options, tuning, builtin.hyperparameters.epochs, builtin.seed);
  return search.run();
}

type Tuning = NonNullable<TrainingRunSpec['tuning']>;

/** One search: its trials, its tuning.json, and the controller that stops all of its trainings. */
class Search {
  private readonly startedAt = new Date();
  private readonly schedule: Rung[];
  private readonly trials: Trial[];
  private readonly file: TuningFile;
  private readonly save: () => Promise<void>;
  private readonly stop = new AbortController();
  private readonly context: LaunchContext;
  private readonly launcher: TrialLauncher;
  /** Trials trained at once: `tuning.parallel` within the slots this run was given. */
  private readonly workers: number;
  /** An error that makes the whole search pointless (it ends at once, failed). */
  private fatal: Error | undefined;

  constructor(
    private readonly options: RunTuningOptions,
    private readonly tuning: Tuning,
    private readonly maxEpochs: number,
    seed: number,
  ) {
    const halving = tuning.algorithm === 'halving';
    this.workers = trialWorkers(tuning.parallel);
    // Asked up front with no history (tpe proposes its random start-up trials); a grid ends at its size.
    const sampler = createSampler(tuning, seed);
    const count = Math.min(tuning.trials, sampler.size ?? tuning.trials);
    this.schedule = halving
      ? halvingSchedule(count, maxEpochs, HALVING_ETA)
      : randomSchedule(count, maxEpochs);
    this.trials = Array.from({ length: count }, (_, i) =>
      newTrial(options.spec, sampler.ask(i + 1, [], []), i + 1, options.outDir),
    );
    this.file = {
      formatVersion: 1,
      state: 'running',
      algorithm: tuning.algorithm,
      metric: tuning.metric,
      goal: tuning.goal,
      parallel: tuning.parallel,
      workers: this.workers,
      ...(halving && { eta: HALVING_ETA }),
      schedule: this.schedule,
      space: tuning.space,
      startedAt: this.startedAt.toISOString(),
      trials: this.trials.map((t) => t.record),
    };
    this.save = serialWriter(() => writeJsonFile(options.outDir, TUNING_FILE, this.file));
    this.launcher = options.launcher ?? processLauncher;
    this.context = {
      baseDir: options.baseDir,
      name: options.name,
      manifestFile: options.manifestFile,
      mlformVersion: options.mlformVersion,
      env: options.env,
      signal: this.stop.signal,
    };
  }

  async run(): Promise<RunTrainingResult> {
    const callerSignal = this.options.signal;
    const onCallerAbort = () => this.stop.abort();
    if (callerSignal?.aborted) this.stop.abort();
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      for (const t of this.trials) if (t.record.state === 'failed') this.emit(t.record, 'failed');
      await this.save();
      await this.trainRungs();
      return await this.finish();
    } catch (error) {
      await this.record(error);
      throw error;
    } finally {
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
  }

  private async trainRungs(): Promise<void> {
    // Clamped to the machine's training slots (worker-limit.ts): 64 parallel trials on 2 cores
    // would only share them, 64 processes' worth of memory.
    const limit = pLimit(this.workers);
    let contenders = this.trials.filter((t) => t.spec !== undefined);
    for (const rung of this.schedule) {
      if (rung.rung > 0) contenders = this.promote(contenders, rung.trials);
      await Promise.all(contenders.map((t) => limit(() => this.train(t, rung))));
      if (this.fatal) throw this.fatal;
      if (this.stop.signal.aborted)
        throw new DOMException('tuning aborted; trial checkpoints are kept', 'AbortError');
    }
  }

  /** The best `count` of the trials that finished the last rung; the others are pruned there. */
  private promote(contenders: Trial[], count: number): Trial[] {
    const finished = contenders.filter((t) => t.record.state === 'pending');
    // Ranked by score: the metric worsened by the health penalties (objectives/).
    const promoted = new Set(
      topTrials(
        finished.map((t) => ({ trial: t.record.trial, metric: t.record.score ?? null })),
        count,
        this.tuning.goal,
      ).map((r) => r.trial),
    );
    for (const t of finished) {
      if (promoted.has(t.record.trial)) continue;
      t.record.state = 'pruned';
      this.emit(t.record, 'pruned', t.record.metric);
    }
    return finished.filter((t) => promoted.has(t.record.trial));
  }

  /** One training of a trial up to the rung's budget: from scratch in rung 0, else from its checkpoint. */
  private async train(trial: Trial, rung: Rung): Promise<void> {
    const { record } = trial;
    const spec = trial.spec as TrainingRunSpec;
    // Queued behind `parallel` running trials when the search was stopped: never launched.
    if (this.stop.signal.aborted) {
      record.state = 'cancelled';
      return;
    }
    const budget = trialBudget(
      rung,
      this.schedule,
      spec.trainer.builtin?.hyperparameters.epochs ?? this.maxEpochs,
    );
    const resumed = record.runs.length > 0;
    record.state = 'running';
    record.rung = rung.rung;
    record.budget = budget;
    this.emit(record, resumed ? 'resumed' : 'started');
    const begin = new Date();
    const run: TrialRun = {
      rung: rung.rung,
      budget,
      resumed,
      state: 'succeeded',
      metric: null,
      epochs: null,
      startedAt: begin.toISOString(),
      finishedAt: '',
      seconds: 0,
    };
    try {
      const job = { trial: record.trial, rung: rung.rung, spec: withEpochs(spec, budget), outDir: trial.dir };
      await this.launcher(job, this.context);
      const metrics = (await readJsonFile(trial.dir, ARTIFACT_FILES.metrics)) as MetricsFile;
      run.metric = this.metricOf(metrics);
      run.epochs = metrics.training.epochs;
      const scored = await scoreTrial(this.tuning, metrics, trial.dir);
      record.values = scored.values;
      record.score = scored.score;
      record.penalty = scored.penalty;
      // `completed` only in the last rung; before that it waits for the promotion.
      record.state = rung.rung === this.schedule.length - 1 ? 'completed' : 'pending';
      record.metric = run.metric;
      record.epochs = run.epochs;
      delete record.error;
    } catch (error) {
      run.state = isAbort(error) && error !== this.fatal ? 'cancelled' : 'failed';
      run.error = errorMessage(error);
      record.state = run.state;
      record.error = run.error;
    }
    const end = new Date();
    run.finishedAt = end.toISOString();
    run.seconds = (end.getTime() - begin.getTime()) / 1000;
    record.seconds += run.seconds;
    record.runs.push(run);
    if (run.state !== 'cancelled')
      this.emit(record, run.state === 'succeeded' ? 'finished' : 'failed', run.metric);
    await this.save();
  }

  /** The tuning metric of a trial's metrics.json; null when not finite (a diverged training). */
  private metricOf(metrics: MetricsFile): number | null {
    const { metric } = this.tuning;
    if (!(metric in metrics.metrics)) {
      this.fatal ??= new TuningError(
        `tuning.metric "${metric}" is not reported by this training; it reports ${Object.keys(metrics.metrics).join(', ')}`,
      );
      this.stop.abort();
      throw this.fatal;
    }
    // JSON has no NaN: metrics.json stores a non-finite value as null.
    const value = metrics.metrics[metric] as number | null;
    return value !== null && Number.isFinite(value) ? value : null;
  }

  /**
   * Copies the best trial into the run's directory. The best of every trial's latest metric, as
   * Hyperband and Ray Tune report it: a pruned trial whose short training beat the finalists'
   * longer ones (they overfit) wins, and its artifact is complete too.
   */
  private async finish(): Promise<RunTrainingResult> {
    const { outDir, spec, name } = this.options;
    const candidates = this.trials
      .map((t) => t.record)
      .filter((r) => r.state === 'completed' || r.state === 'pruned');
    const selected = selectBest(
      this.tuning,
      candidates.map((r) => ({ trial: r.trial, values: r.values ?? [r.metric], score: r.score ?? null })),
    );
    const best = candidates.find((r) => r.trial === selected.best);
    if (!best) throw new TuningError(noBestMessage(this.file.trials, this.tuning.metric));
    const finishedAt = new Date();
    const seconds = (finishedAt.getTime() - this.startedAt.getTime()) / 1000;
    await promoteArtifact({
      fromDir: joinUri(outDir, TRIALS_DIR, String(best.trial)),
      toDir: outDir,
      run: {
        ...(name !== undefined && { name }),
        specHash: specHash(spec),
        spec,
        startedAt: this.startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        seconds,
      },
    });
    const metrics = (await readJsonFile(outDir, ARTIFACT_FILES.metrics)) as MetricsFile;
    this.file.best = {
      trial: best.trial,
      dir: best.dir,
      params: best.params,
      metric: best.metric as number,
      epochs: metrics.training.epochs,
      ...(best.score !== undefined && best.score !== null && { score: best.score }),
      ...(best.values !== undefined && { values: best.values }),
    };
    if (this.tuning.objectives) this.file.pareto = selected.pareto;
    await writeStudyVisuals(outDir, this.file);
    this.file.state = 'succeeded';
    this.file.finishedAt = finishedAt.toISOString();
    this.file.seconds = seconds;
    await this.save();
    this.emit(best, 'best', best.metric);
    this.options.onEvent({ type: 'done', metrics: metrics.metrics, seconds });
    return { outDir, metrics };
  }

  /** tuning.json of a search that ended without an artifact. */
  private async record(error: unknown): Promise<void> {
    for (const { record } of this.trials)
      if (record.state === 'pending' || record.state === 'running') record.state = 'cancelled';
    const finishedAt = new Date();
    this.file.state = isAbort(error) ? 'cancelled' : 'failed';
    this.file.error = errorMessage(error);
    this.file.finishedAt = finishedAt.toISOString();
    this.file.seconds = (finishedAt.getTime() - this.startedAt.getTime()) / 1000;
    // The search's own error is the one to report, not a failure to write its record.
    await this.save().catch(() => {});
  }

  private emit(record: TrialRecord, state: string, metric?: number | null): void {
    this.options.onEvent({
      type: 'trial',
      trial: record.trial,
      trials: this.tuning.trials,
      params: record.params,
      ...(metric !== undefined && metric !== null && { metric }),
      state,
    });
  }
}

function newTrial(spec: TrainingRunSpec, params: TrialParams, trial: number, outDir: string): Trial {
  const prepared = buildTrialSpec(spec, params);
  const record: TrialRecord = {
    trial,
    dir: `${TRIALS_DIR}/${trial}`,
    params,
    state: prepared.ok ? 'pending' : 'failed',
    rung: null,
    budget: null,
    epochs: null,
    metric: null,
    seconds: 0,
    ...(!prepared.ok && { error: prepared.message }),
    runs: [],
  };
  return {
    record,
    ...(prepared.ok && { spec: prepared.spec }),
    dir: joinUri(outDir, TRIALS_DIR, String(trial)),
  };
}

function noBestMessage(records: TrialRecord[], metric: string): string {
  if (records.some((r) => r.state !== 'failed'))
    return `no trial reached a finite ${metric} (every training diverged, failed or was cancelled)`;
  // The same error in every trial (missing data, no GPU) is shown once, with the trials it hit.
  const byMessage = new Map<string, number[]>();
  for (const r of records) {
    const message = r.error ?? 'unknown error';
    byMessage.set(message, [...(byMessage.get(message) ?? []), r.trial]);
  }
  const reasons = [...byMessage].map(([message, ids]) => `trial ${ids.join(', ')}: ${message}`);
  return `all ${records.length} trials failed; ${reasons.join('; ')}`;
}

/**
 * Writes run one after another, each with the state of the moment it runs: concurrent trials
 * finishing together must not interleave their writes to one file. A failed write does not
 * block later ones.
 */
function serialWriter(write: () => Promise<void>): () => Promise<void> {
  let chain: Promise<void> = Promise.resolve();
  return () => {
    chain = chain.catch(() => {}).then(write);
    return chain;
  };
}
