/**
 * Hyperparameter search for a TrainingRun with `spec.tuning`, as an ask/tell study (Optuna's
 * `study.optimize(n_jobs)` with a pruner): up to `workers` trials train at once, each into
 * `<outDir>/trials/<k>/` as a full artifact; a new trial is asked of the sampler whenever a worker
 * frees up, with the trials ended so far as its history; every epoch's value goes to the pruner,
 * which may stop the trial there (its artifact is then that epoch's). At the end the best trial
 * is copied into `<outDir>`, which is thereby a normal artifact, and everything is recorded in
 * `<outDir>/tuning.json`.
 *
 * Durable: every event is appended to the journal (`study.jsonl`, journal.ts) before the engine
 * acts on it, and tuning.json is written from the journal's fold (study-state.ts). Started again
 * on the same directory, the study replays its journal: ended trials are never trained again,
 * open ones resume from their checkpoints, new ones are asked with the replayed history.
 *
 * A failed trial is recorded and the study goes on; it fails only when no trial succeeds, or at
 * once when the tuning metric does not exist (every trial would be unrankable). Aborting stops
 * asking and stops the running trials (their checkpoints are kept and the journal leaves them
 * open, so running the study again on the same directory resumes them).
 */
import { errorMessage } from '../../resources/error-message.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { specHash } from '../../resources/spec-hash.js';
import { ARTIFACT_FILES, readJsonFile, writeJsonFile, type MetricsFile } from '../../artifact/files.js';
import type { RunTrainingOptions, RunTrainingResult } from '../run-training.js';
import { joinUri, storeFor } from '../../artifact/storage.js';
import { checkpointUri, readCheckpoint } from '../training/checkpoint.js';
import { ObjectiveError, scoreTrial, selectBest } from './objectives/index.js';
import { createPruner } from './pruners/index.js';
import { createSampler } from './samplers/index.js';
import { promoteArtifact } from './promote-artifact.js';
import { HALVING_ETA, randomSchedule } from './schedule.js';
import {
  openJournal,
  readJournal,
  type EndedJournalEvent,
  type Journal,
  type JournalEvent,
} from './journal.js';
import { isEnded, newRecord, StudyState } from './study-state.js';
import type { Pruner, PrunerTrialView, Sampler } from './study-types.js';
import { processLauncher, type LaunchContext, type TrialLauncher } from './trial-launcher.js';
import { trialSpec as buildTrialSpec, withEpochs } from './trial-spec.js';
import { trialWorkers } from './worker-limit.js';
import { writeStudyVisuals } from './visualise/index.js';
import { TRIALS_DIR, TUNING_FILE, type TrialRecord, type TuningFile } from './tuning-file.js';

export interface RunTuningOptions extends RunTrainingOptions {
  /** How trials train (default: one child process each). */
  launcher?: TrialLauncher;
  /** The sampler (default: `createSampler` from the manifest's tuning); tests inject one. */
  sampler?: Sampler;
  /** The pruner (default: `createPruner` from the manifest's tuning); tests inject one. */
  pruner?: Pruner;
}

/** The search as a whole cannot produce an artifact. */
export class TuningError extends Error {
  override name = 'TuningError';
}

const isAbort = (error: unknown): boolean => error instanceof Error && error.name === 'AbortError';
const nowIso = (): string => new Date().toISOString();

type Tuning = NonNullable<TrainingRunSpec['tuning']>;

export async function runTuning(options: RunTuningOptions): Promise<RunTrainingResult> {
  const { spec } = options;
  const tuning = spec.tuning;
  const builtin = spec.trainer.builtin;
  if (!tuning || !builtin) throw new TuningError('tuning needs spec.tuning and trainer.builtin');
  const events = await readJournal(options.outDir);
  const hash = specHash(spec);
  const header = events[0];
  if (header && (header.type !== 'study' || header.specHash !== hash)) {
    const other = header.type === 'study' ? header.specHash.slice(0, 12) : 'unknown';
    throw new TuningError(
      `${options.outDir} holds the study of another spec (${other}, this one is ${hash.slice(0, 12)}); ` +
        'train into another directory, or delete its study.jsonl and trials/ to start over',
    );
  }
  const journal = await openJournal(options.outDir);
  try {
    const study = new Study(options, tuning, builtin.hyperparameters.epochs, builtin.seed, journal);
    return await study.run(events, hash);
  } finally {
    await journal.close();
  }
}

/** One study: its trials, its journal and tuning.json, and the controller that stops its trainings. */
class Study {
  private readonly startedAt = new Date();
  private readonly state = new StudyState();
  private readonly file: TuningFile;
  private readonly save: () => Promise<void>;
  private readonly stop = new AbortController();
  private readonly context: LaunchContext;
  private readonly launcher: TrialLauncher;
  private readonly sampler: Sampler;
  private readonly pruner: Pruner;
  /** Trials trained at once: `tuning.parallel` within the slots this run was given. */
  private readonly workers: number;
  /** How many trials the study has: `trials`, or fewer when the grid is smaller. */
  private readonly limit: number;
  /** Validated specs of the trials asked (a trial whose params make no valid spec has none). */
  private readonly specs = new Map<number, TrainingRunSpec>();
  /** An error that makes the whole search pointless (it ends at once, failed). */
  private fatal: Error | undefined;
  /** A study that ends early lists the trials it never asked, cancelled (tuning.json only). */
  private unasked: TrialRecord[] = [];

  constructor(
    private readonly options: RunTuningOptions,
    private readonly tuning: Tuning,
    private readonly maxEpochs: number,
    seed: number,
    private readonly journal: Journal,
  ) {
    this.workers = trialWorkers(tuning.parallel);
    this.sampler = options.sampler ?? createSampler(tuning, seed);
    this.pruner = options.pruner ?? createPruner(tuning, maxEpochs, tuning.goal);
    this.limit = Math.min(tuning.trials, this.sampler.size ?? Infinity);
    this.file = {
      formatVersion: 1,
      state: 'running',
      algorithm: tuning.algorithm,
      metric: tuning.metric,
      goal: tuning.goal,
      parallel: tuning.parallel,
      workers: this.workers,
      ...(tuning.algorithm === 'halving' && { eta: tuning.pruner?.eta ?? HALVING_ETA }),
      // Every trial is given the full budget; the pruner decides where it stops.
      schedule: randomSchedule(this.limit, maxEpochs),
      space: tuning.space,
      startedAt: this.startedAt.toISOString(),
      trials: [],
      sampler: { type: tuning.sampler?.type ?? 'random' },
      pruner: this.pruner.describe(),
      ...(tuning.objectives && { objectives: tuning.objectives }),
      ...(tuning.selection && { selection: tuning.selection }),
      ...(tuning.penalties && { penalties: tuning.penalties }),
    };
    this.save = serialWriter(() => {
      this.file.trials = [...this.state.records(), ...this.unasked];
      return writeJsonFile(options.outDir, TUNING_FILE, this.file);
    });
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

  async run(replayed: JournalEvent[], hash: string): Promise<RunTrainingResult> {
    const callerSignal = this.options.signal;
    const onCallerAbort = () => this.stop.abort();
    if (callerSignal?.aborted) this.stop.abort();
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      if (replayed.length === 0)
        await this.journal.append({ type: 'study', formatVersion: 1, specHash: hash, at: nowIso() });
      for (const event of replayed) this.state.apply(event);
      // The log of a resumed run starts with the trials that ended before, as they ended.
      for (const record of this.state.records()) if (isEnded(record)) this.told(record);
      for (const record of this.state.records()) {
        const invalid = this.prepare(record);
        // Killed between asking it and recording that its spec is invalid.
        if (invalid !== undefined && record.state === 'pending')
          await this.end(record, { state: 'failed', metric: null, epochs: null, error: invalid });
      }
      await this.save();
      await this.optimize();
      return await this.finish();
    } catch (error) {
      await this.record(error);
      throw error;
    } finally {
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
  }

  /**
   * Trains the open trials of a resumed study, then asks new ones whenever fewer than `workers`
   * train, until the study has all its trials and they have ended.
   */
  private async optimize(): Promise<void> {
    const running = new Map<number, Promise<void>>();
    const launch = (record: TrialRecord) => {
      const done = this.train(record).finally(() => running.delete(record.trial));
      running.set(record.trial, done);
    };
    const waiting = this.state.open();
    for (;;) {
      while (running.size < this.workers && !this.stopped()) {
        const next = waiting.shift() ?? (this.state.size < this.limit ? await this.ask() : undefined);
        if (!next) break;
        // Stopped while it was being asked: it stays open (a resume trains it).
        if (next.state !== 'failed' && !this.stopped()) launch(next);
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
    if (this.fatal) throw this.fatal;
    if (this.stop.signal.aborted)
      throw new DOMException('tuning aborted; trial checkpoints are kept', 'AbortError');
  }

  private stopped(): boolean {
    return this.fatal !== undefined || this.stop.signal.aborted;
  }

  /** Asks the sampler for the next trial, journals it, and fails it at once if its spec is invalid. */
  private async ask(): Promise<TrialRecord> {
    const trial = this.state.size + 1;
    // Asked and not ended: training, or about to.
    const running = this.state.open().map((r) => r.params);
    const params = this.sampler.ask(trial, this.state.finished(), running);
    await this.append({ type: 'asked', trial, params, at: nowIso() });
    const record = this.state.get(trial) as TrialRecord;
    const invalid = this.prepare(record);
    if (invalid !== undefined) {
      await this.end(record, { state: 'failed', metric: null, epochs: null, error: invalid });
    }
    return record;
  }

  /** Builds the trial's spec; returns the reason when its params make an invalid one. */
  private prepare(record: TrialRecord): string | undefined {
    const prepared = buildTrialSpec(this.options.spec, record.params);
    if (!prepared.ok) return prepared.message;
    this.specs.set(record.trial, prepared.spec);
    return undefined;
  }

  /**
   * One training of a trial: its full budget (or, resumed after it was pruned, up to the pruned
   * epoch), from its checkpoint when one is there.
   */
  private async train(record: TrialRecord): Promise<void> {
    const spec = this.specs.get(record.trial) as TrainingRunSpec;
    const dir = joinUri(this.options.outDir, TRIALS_DIR, String(record.trial));
    const checkpoint = checkpointUri(dir);
    const resumed = await storeFor(checkpoint).exists(checkpoint);
    if (resumed) await this.reportCheckpointedEpochs(record, dir);
    const epochs = spec.trainer.builtin?.hyperparameters.epochs ?? this.maxEpochs;
    const budget = record.prunedAt ? Math.min(record.prunedAt.epoch, epochs) : epochs;
    await this.append({ type: 'launched', trial: record.trial, budget, resumed, at: nowIso() });
    this.emit(record, resumed ? 'resumed' : 'started');
    try {
      const job = { trial: record.trial, spec: withEpochs(spec, budget), outDir: dir };
      await this.launcher(job, { ...this.context, onEpoch: (e, m) => this.onEpoch(record, e, m) });
      const metrics = (await readJsonFile(dir, ARTIFACT_FILES.metrics)) as MetricsFile;
      const metric = this.metricOf(metrics);
      const scored = await scoreTrial(this.tuning, metrics, dir);
      await this.end(record, {
        state: record.prunedAt ? 'pruned' : 'completed',
        metric,
        epochs: metrics.training.epochs,
        values: scored.values,
        score: scored.score,
        penalty: scored.penalty,
      });
    } catch (error) {
      // An objective the training does not report fails every trial alike: end the study at once.
      if (error instanceof ObjectiveError) {
        this.fatal ??= error;
        this.stop.abort();
      }
      if (isAbort(error) && error !== this.fatal) return; // left open in the journal: a resume trains on
      await this.end(record, {
        state: 'failed',
        metric: null,
        epochs: record.epochs,
        error: errorMessage(error),
      });
    }
  }

  /**
   * Epochs a trial's checkpoint holds that the journal does not: a worker sends an epoch's metrics,
   * then writes its checkpoint, so a study process killed in between left an epoch trained but
   * not journaled, and the resumed worker goes on after it. Reported now as they would have been
   * (journaled and shown to the pruner, which may stop the trial there). A checkpoint that cannot
   * be read is the worker's to set aside; one of another training is retrained from scratch, and
   * its live epochs then replace these.
   */
  private async reportCheckpointedEpochs(record: TrialRecord, dir: string): Promise<void> {
    const checkpoint = await readCheckpoint(dir).catch(() => undefined);
    const journaled = record.epochs ?? 0;
    for (const { epoch, metrics } of checkpoint?.state.history ?? []) {
      if (epoch > journaled && (await this.onEpoch(record, epoch, metrics))) return;
    }
  }

  /**
   * An epoch of a running trial: its value of the tuning metric is journaled and shown to the
   * pruner; true stops the trial there. An epoch without that metric (it is not one the epoch
   * events carry, such as val_rmse) is not reported: such a study is never pruned.
   */
  private async onEpoch(
    record: TrialRecord,
    epoch: number,
    metrics: Record<string, number>,
  ): Promise<boolean> {
    const value = metrics[this.tuning.metric];
    if (typeof value !== 'number' || !Number.isFinite(value) || this.stopped()) return false;
    // A trial resumed after it was pruned only finishes its pruned epochs.
    if (record.prunedAt) {
      await this.append({ type: 'epoch', trial: record.trial, epoch, value });
      return false;
    }
    const views = this.views(record.trial, epoch, value);
    const decision = this.pruner.report(record.trial, epoch, views);
    const placement = {
      ...(decision.rung !== undefined && { rung: decision.rung }),
      ...(decision.bracket !== undefined && { bracket: decision.bracket }),
    };
    await this.append({ type: 'epoch', trial: record.trial, epoch, value, ...placement });
    if (!decision.prune) return false;
    const reason =
      decision.reason ?? `stopped by the ${this.pruner.describe().type} pruner at epoch ${epoch}`;
    await this.append({ type: 'pruned', trial: record.trial, epoch, reason, ...placement });
    return true;
  }

  /** Every trial as the pruner sees it, the reporting one with `value` already appended. */
  private views(trial: number, epoch: number, value: number): PrunerTrialView[] {
    return this.state.records().map((r) => {
      const intermediate = (r.intermediate ?? []).filter((v) => r.trial !== trial || v.epoch < epoch);
      if (r.trial === trial) intermediate.push({ epoch, value });
      const state =
        r.state === 'completed' || r.state === 'pruned' || r.state === 'failed' ? r.state : 'running';
      return { trial: r.trial, state, intermediate };
    });
  }

  /** Journals the end of a trial's training, then tells the log. */
  private async end(
    record: TrialRecord,
    ended: Omit<EndedJournalEvent, 'type' | 'trial' | 'at'>,
  ): Promise<void> {
    await this.append({ type: 'ended', trial: record.trial, ...ended, at: nowIso() });
    this.told(record);
  }

  /** The `trial` event of an ended trial: finished, pruned (with the pruner's reason) or failed. */
  private told(record: TrialRecord): void {
    const state = record.state === 'completed' ? 'finished' : record.state;
    this.emit(record, state, record.metric, record.prunedAt?.reason ?? record.error);
  }

  /**
   * Appends to the journal, folds the event into the state, and rewrites tuning.json. Epoch
   * values are many and a worker waits on each: their rewrite is not awaited (the writes stay in
   * order), and a failed one does not stop training (the journal has the value).
   */
  private async append(event: JournalEvent): Promise<void> {
    await this.journal.append(event);
    this.state.apply(event);
    const saved = this.save();
    if (event.type === 'epoch') saved.catch(() => {});
    else await saved;
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
   * Copies the best trial into the run's directory. The candidates are the completed trials; a
   * pruned one only when none completed (as Optuna, a trial stopped early is not the answer while
   * a fully trained one exists; with every trial pruned, the best of them is still a model).
   */
  private async finish(): Promise<RunTrainingResult> {
    const { outDir, spec, name } = this.options;
    const records = this.state.records();
    const completed = records.filter((r) => r.state === 'completed');
    const candidates = completed.length > 0 ? completed : records.filter((r) => r.state === 'pruned');
    const selected = selectBest(
      this.tuning,
      candidates.map((r) => ({ trial: r.trial, values: r.values ?? [r.metric], score: r.score ?? r.metric })),
    );
    const best = candidates.find((r) => r.trial === selected.best);
    if (!best) throw new TuningError(noBestMessage(records, this.tuning.metric));
    const finishedAt = new Date();
    const seconds = (finishedAt.getTime() - this.startedAt.getTime()) / 1000;
    // The best trial's metrics.json is the run's once promoted (copied byte for byte).
    const metrics = (await readJsonFile(joinUri(outDir, best.dir), ARTIFACT_FILES.metrics)) as MetricsFile;
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
    this.file.trials = records;
    await writeStudyVisuals(outDir, this.file);
    this.file.state = 'succeeded';
    this.file.finishedAt = finishedAt.toISOString();
    this.file.seconds = seconds;
    await this.save();
    // Last: the run.json promoteArtifact writes is what says "succeeded" to the providers, so the
    // study's record and drawings are complete before it exists.
    await promoteArtifact({
      fromDir: joinUri(outDir, best.dir),
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
    this.emit(best, 'best', best.metric);
    this.options.onEvent({ type: 'done', metrics: metrics.metrics, seconds });
    return { outDir, metrics };
  }

  /**
   * tuning.json of a study that ended without an artifact. Its open trials are shown cancelled
   * (the journal keeps them open for a resume), and the trials it never asked as cancelled
   * without params, so the file lists every trial of the study.
   */
  private async record(error: unknown): Promise<void> {
    const finishedAt = new Date();
    this.state.cancelOpen(finishedAt.toISOString(), errorMessage(error));
    this.file.state = isAbort(error) ? 'cancelled' : 'failed';
    this.file.error = errorMessage(error);
    this.file.finishedAt = finishedAt.toISOString();
    this.file.seconds = (finishedAt.getTime() - this.startedAt.getTime()) / 1000;
    for (let trial = this.state.size + 1; trial <= this.limit; trial++)
      this.unasked.push(newRecord(trial, {}, 'cancelled'));
    // The search's own error is the one to report, not a failure to write its record.
    await this.save().catch(() => {});
  }

  private emit(record: TrialRecord, state: string, metric?: number | null, reason?: string): void {
    this.options.onEvent({
      type: 'trial',
      trial: record.trial,
      trials: this.limit,
      params: record.params,
      ...(metric !== undefined && metric !== null && { metric }),
      state,
      ...(reason !== undefined && { reason }),
    });
  }
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
