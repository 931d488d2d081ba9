/**
 * Study visualisations (issue 17 item 6): the optimisation history, parallel coordinates,
 * parameter importance and, for several objectives, the Pareto front, written as
 * `<outDir>/tuning-plots.json` (plots-file.ts, for the dashboard), as images and HParams
 * sessions in the run's TensorBoard logdir (study-tensorboard.ts), and the importance into
 * tuning.json (`file.importance`, saved by the engine after this returns).
 */
import { writeJsonFile } from '../../../artifact/files.js';
import { chartPng } from '../../tensorboard/chart-png.js';
import type { TuningFile } from '../tuning-file.js';
import { historyChart, importanceChart, parallelCoordinatesChart, paretoChart } from './charts.js';
import { importanceRecord, parameterImportance } from './importance.js';
import { TUNING_PLOTS_FILE, type TuningPlots } from './plots-file.js';
import { studyPlots } from './study-plots.js';
import { writeStudyTensorboard, type StudyImage } from './study-tensorboard.js';

export { TUNING_PLOTS_FILE, TuningPlotsSchema, type TuningPlots } from './plots-file.js';

/** The image tags in the study's TensorBoard run. */
export const STUDY_IMAGE_TAGS = {
  history: 'study/optimization_history',
  parallel: 'study/parallel_coordinates',
  importance: 'study/param_importance',
  pareto: 'study/pareto_front',
} as const;

/** The plots of `file` as data, importance included (also set on `file.importance`). */
export function computeStudyPlots(file: TuningFile): TuningPlots {
  const plots = studyPlots(file);
  const importance = parameterImportance(plots);
  if (importance) {
    plots.importance = importance;
    file.importance = importanceRecord(importance);
  } else {
    delete file.importance;
  }
  return plots;
}

/** Draws the study; safe to call after every trial (each call rewrites the same files). */
export async function writeStudyVisuals(outDir: string, file: TuningFile): Promise<void> {
  const plots = computeStudyPlots(file);
  await writeJsonFile(outDir, TUNING_PLOTS_FILE, plots);
  const images: StudyImage[] = [];
  const draw = async (tag: string, spec: Parameters<typeof chartPng>[0]) =>
    images.push({ tag, image: await chartPng(spec) });
  await draw(STUDY_IMAGE_TAGS.history, historyChart(plots));
  await draw(STUDY_IMAGE_TAGS.parallel, parallelCoordinatesChart(plots));
  if (plots.importance) await draw(STUDY_IMAGE_TAGS.importance, importanceChart(plots.importance));
  if (plots.pareto) await draw(STUDY_IMAGE_TAGS.pareto, paretoChart(plots.pareto));
  await writeStudyTensorboard(outDir, file, plots, images);
}
