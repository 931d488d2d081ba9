/**
 * The study of a tuned run in `mlform describe trainingrun/NAME`: every trial (number, state,
 * epochs, metric, score, params, why it was pruned or failed) and the best trial, the final one
 * once the study succeeded, else the best so far by the same rule the engine applies (completed
 * trials first; pruned ones only when none completed). Read from the run's tuning.json, which the
 * trainer rewrites as the study goes, so it is current while the run trains. Everything in it
 * was written by the training: cells are escaped by renderColumns, the rest here.
 */
import type { TuningFile } from '../../trainer/tuning/tuning-file.js';
import { topTrials } from '../../trainer/tuning/ranking.js';
import { renderColumns } from './resource-table.js';
import { escapeTerminal as t } from './escape.js';
import type { Style } from './style.js';

/** Trials listed; a larger study shows its last ones and says how many were left out. */
const SHOWN_TRIALS = 50;

export interface StudyTrial {
  trial: number;
  state: string;
  epochs: number | null;
  metric: number | null;
  score: number | null;
  params: Record<string, unknown>;
  /** Pruned: the pruner's reason and epoch; failed: the error. */
  reason?: string;
}

export interface StudySummary {
  /** The run whose tuning.json this is (`name#k`). */
  run: string;
  state: TuningFile['state'];
  metric: string;
  goal: TuningFile['goal'];
  sampler: string;
  pruner: string;
  /** Trials of the study, asked or not yet. */
  of: number;
  trials: StudyTrial[];
  /** final: the study's pick (its artifact is the run's); otherwise the best so far. */
  best?: { trial: number; metric: number | null; final: boolean };
}

export function studySummary(file: TuningFile, run: string): StudySummary {
  const trials: StudyTrial[] = file.trials.map((r) => ({
    trial: r.trial,
    state: r.state,
    epochs: r.epochs,
    metric: r.metric,
    score: r.score ?? r.metric,
    params: r.params,
    ...(r.prunedAt
      ? { reason: `epoch ${r.prunedAt.epoch}: ${r.prunedAt.reason}` }
      : r.error !== undefined && { reason: r.error }),
  }));
  return {
    run,
    state: file.state,
    metric: file.metric,
    goal: file.goal,
    sampler: file.sampler?.type ?? 'random',
    pruner: file.pruner?.type ?? (file.algorithm === 'halving' ? 'halving' : 'none'),
    of: Math.max(file.schedule[0]?.trials ?? 0, trials.length),
    trials,
    ...bestOf(file, trials),
  };
}

function bestOf(file: TuningFile, trials: StudyTrial[]): Pick<StudySummary, 'best'> {
  if (file.best) {
    return { best: { trial: file.best.trial, metric: file.best.metric, final: file.state === 'succeeded' } };
  }
  const top = (state: string) =>
    topTrials(
      trials.filter((r) => r.state === state).map((r) => ({ trial: r.trial, metric: r.score })),
      1,
      file.goal,
    )[0];
  const pick = top('completed') ?? top('pruned');
  const best = pick && trials.find((r) => r.trial === pick.trial);
  return best ? { best: { trial: best.trial, metric: best.metric, final: false } } : {};
}

const number = (v: number | null): string => (v === null ? '-' : Number(v.toPrecision(5)).toString());

const paramsText = (params: Record<string, unknown>): string =>
  Object.entries(params)
    .map(([key, value]) => `${key}=${typeof value === 'number' ? number(value) : JSON.stringify(value)}`)
    .join(' ');

export function renderStudy(study: StudySummary, style: Style): string[] {
  const ended = study.trials.filter((r) => ['completed', 'pruned', 'failed'].includes(r.state)).length;
  const shown = study.trials.slice(-SHOWN_TRIALS);
  const table = renderColumns(
    ['TRIAL', 'STATE', 'EPOCHS', study.metric.toUpperCase(), 'SCORE', 'PARAMS', 'REASON'],
    shown.map((r) => [
      String(r.trial),
      r.state,
      r.epochs === null ? '-' : String(r.epochs),
      number(r.metric),
      number(r.score),
      paramsText(r.params),
      r.reason ?? '',
    ]),
    (cell, column) => (column === 1 && cell.trim() === 'pruned' ? style.yellow(cell) : cell),
  );
  const best = study.best && study.trials.find((r) => r.trial === study.best?.trial);
  const lines = [
    '',
    style.bold(
      `Study (${t(study.run)}, ${study.state}: ${ended} of ${study.of} trials ended; sampler ${t(study.sampler)}, ` +
        `pruner ${t(study.pruner)}; ${t(study.metric)}, ${study.goal}):`,
    ),
    ...indented(table),
  ];
  if (study.trials.length > shown.length)
    lines.push(`  (${study.trials.length - shown.length} earlier trials not shown; all are in tuning.json)`);
  lines.push(
    best && study.best
      ? `  ${study.best.final ? 'Best' : 'Best so far'}: trial ${best.trial}, ${t(study.metric)} ${number(study.best.metric)}  ${t(paramsText(best.params))}`
      : '  Best so far: (no trial has ended yet)',
  );
  return lines;
}

const indented = (text: string): string[] => text.split('\n').map((line) => `  ${line}`);
