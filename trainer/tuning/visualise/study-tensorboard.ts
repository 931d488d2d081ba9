/**
 * The study in the run's TensorBoard logdir (`<outDir>/tensorboard`, whose top holds the best
 * trial's own event files): `study/` holds the charts (IMAGES tab) and the HParams experiment,
 * and `study/trial-<k>/` one session per trial with its parameters, value and status, so the
 * HParams dashboard lists every trial, pruned and failed ones included.
 *
 * Each file has a fixed name and is rewritten whole on every call (the engine may draw the study
 * after each trial): event files are built in memory and written atomically through the artifact
 * store, so this works the same for a local directory and a gs:// run.
 */
import { ARTIFACT_FILES } from '../../../artifact/files.js';
import { joinUri, storeFor } from '../../../artifact/storage.js';
import { resolveTuningPath } from '../../../resources/training-run.js';
import { eventFileName, SummaryWriter } from '../../tensorboard/index.js';
import type { EncodedImage, EventSink, HParamValue, SessionStatusName } from '../../tensorboard/index.js';
import { studyHParamInfo, type StudyHParam } from '../../tensorboard/hparams.js';
import { scalarTag } from '../../tensorboard-observer.js';
import type { TrialRecord, TuningFile } from '../tuning-file.js';
import type { PlotAxis, TuningPlots } from './plots-file.js';
import { formatParam, trialValue } from './study-plots.js';

export const STUDY_LOGDIR = 'study';
/** The host part of the event file names: fixed, so a rewrite replaces the file. */
const STUDY_HOST = 'mlform-study';
export const SCORE_TAG = 'tuning/score';

/**
 * The column name of a space key: the name the single-run form uses (run-training.ts's hparams),
 * so whichever experiment TensorBoard reads first, a trial's value lands in the same column.
 */
export const hparamName = (key: string): string => resolveTuningPath(key).replace(/^hyperparameters\./, '');

const hparamValue = (value: unknown): HParamValue | undefined => {
  const shown = formatParam(value);
  return shown === null || (typeof shown === 'number' && !Number.isFinite(shown)) ? undefined : shown;
};

function studyHParam(axis: PlotAxis): StudyHParam {
  const name = hparamName(axis.key);
  if (axis.kind !== 'categorical' && axis.domain) return { name, type: 'number', interval: axis.domain };
  return { name, type: 'string', values: axis.categories ?? [] };
}

const STATUS: Record<TrialRecord['state'], SessionStatusName> = {
  completed: 'success',
  pruned: 'success',
  failed: 'failure',
  cancelled: 'failure',
  pending: 'running',
  running: 'running',
};

/** The metric tags a study session reports: the metric, the score, the other objectives. */
function metricTags(file: TuningFile): string[] {
  return [scalarTag(file.metric), SCORE_TAG, ...(file.objectives ?? []).map((o) => scalarTag(o.metric))];
}

/** A writer whose records stay in memory until `bytes()`. */
async function memoryWriter(now: () => number): Promise<{ writer: SummaryWriter; bytes: () => Buffer }> {
  const chunks: Uint8Array[] = [];
  const sink: EventSink = { write: (bytes) => void chunks.push(Uint8Array.from(bytes)) };
  const writer = await SummaryWriter.create(sink, { now, flushIntervalMs: 0 });
  return { writer, bytes: () => Buffer.concat(chunks) };
}

export interface StudyImage {
  tag: string;
  image: EncodedImage;
}

export async function writeStudyTensorboard(
  outDir: string,
  file: TuningFile,
  plots: TuningPlots,
  images: readonly StudyImage[],
): Promise<void> {
  const logdir = joinUri(outDir, ARTIFACT_FILES.tensorboard, STUDY_LOGDIR);
  const startMs = Date.parse(file.startedAt);
  const startedAt = Number.isFinite(startMs) ? startMs : Date.now();
  const name = eventFileName(Math.floor(startedAt / 1000), STUDY_HOST);
  const write = async (dir: string, bytes: Buffer) => {
    const uri = joinUri(dir, name);
    await storeFor(uri).write(uri, bytes);
  };
  const step = plots.history.filter((p) => p.value !== null).length;

  const study = await memoryWriter(Date.now);
  const paramAxes = plots.parallel.axes.slice(0, -1);
  study.writer.hparamsExperiment(
    paramAxes.map((axis) => studyHParamInfo(studyHParam(axis))),
    metricTags(file),
    { startTime: startedAt },
  );
  for (const { tag, image } of images) study.writer.image(tag, image.png, image.width, image.height, step);
  await study.writer.close();
  await write(logdir, study.bytes());

  for (const trial of file.trials) {
    const session = await memoryWriter(Date.now);
    const hparams: Record<string, HParamValue> = {};
    for (const axis of paramAxes) {
      const value = hparamValue(trial.params[axis.key]);
      if (value !== undefined) hparams[hparamName(axis.key)] = value;
    }
    const trialStart = Date.parse(trial.runs[0]?.startedAt ?? '');
    session.writer.hparamsSession(hparams, {
      group: `trial-${trial.trial}`,
      startTime: Number.isFinite(trialStart) ? trialStart : startedAt,
    });
    const epochs = trial.epochs ?? 0;
    if (trial.metric !== null && Number.isFinite(trial.metric))
      session.writer.scalar(scalarTag(file.metric), trial.metric, epochs);
    const value = trialValue(trial);
    if (value !== null) session.writer.scalar(SCORE_TAG, value, epochs);
    (file.objectives ?? []).forEach((objective, i) => {
      const v = trial.values?.[i + 1];
      if (typeof v === 'number' && Number.isFinite(v))
        session.writer.scalar(scalarTag(objective.metric), v, epochs);
    });
    // A session's first end status is final in TensorBoard: none until the trial has ended.
    if (STATUS[trial.state] !== 'running') session.writer.hparamsEnd(STATUS[trial.state]);
    await session.writer.close();
    await write(joinUri(logdir, `trial-${trial.trial}`), session.bytes());
  }
}
