/**
 * The study's charts as Vega-Lite specs, drawn from tuning-plots.json (plots-file.ts) so the
 * images and the dashboard show the same numbers. Everything from the manifest or the trials
 * (keys, category names) enters as data values, never as field names or expressions.
 */
import type { ChartSpec } from '../../tensorboard/chart-png.js';
import { niceTicks, tickLabels } from '../../tensorboard/ticks.js';
import type { ImportancePlot, ParetoPlot, PlotAxis, TuningPlots } from './plots-file.js';
import { axisPosition } from './study-plots.js';

const STATE_COLORS = { completed: '#1f77b4', pruned: '#ff7f0e', failed: '#d62728', best: '#2ca02c' };

const goalNote = (goal: string) => (goal === 'minimize' ? 'lower is better' : 'higher is better');

/** Each trial's value by trial number, pruned and failed marked, and the best so far as a step line. */
export function historyChart(plots: TuningPlots): ChartSpec {
  const color = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: {
      domain: ['completed', 'pruned', 'failed', 'best so far'],
      range: [STATE_COLORS.completed, STATE_COLORS.pruned, STATE_COLORS.failed, STATE_COLORS.best],
    },
    legend: { orient: 'top', direction: 'horizontal' },
  } as const;
  const x = {
    field: 'trial',
    type: 'quantitative',
    title: 'trial',
    axis: { tickMinStep: 1, format: 'd' },
  } as const;
  const y = {
    field: 'value',
    type: 'quantitative',
    title: plots.valueLabel,
    scale: { zero: false },
  } as const;
  const ranked = plots.history.filter((p) => p.value !== null);
  return {
    width: 560,
    height: 360,
    title: `Optimisation history: ${plots.valueLabel} (${goalNote(plots.goal)})`,
    layer: [
      {
        data: {
          values: plots.history.filter((p) => p.best !== null).map((p) => ({ ...p, series: 'best so far' })),
        },
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
        encoding: { x, y: { ...y, field: 'best' }, color },
      },
      {
        data: {
          values: ranked.map((p) => ({ ...p, series: p.state === 'pruned' ? 'pruned' : 'completed' })),
        },
        mark: { type: 'point', filled: true, size: 60 },
        encoding: { x, y, color },
      },
      {
        // Failed trials have no value: a cross on the bottom edge at their trial number.
        data: {
          values: plots.history.filter((p) => p.state === 'failed').map((p) => ({ ...p, series: 'failed' })),
        },
        mark: { type: 'point', shape: 'cross', filled: true, size: 80 },
        encoding: { x, y: { value: { expr: 'height' } }, color },
      },
    ],
  } as ChartSpec;
}

/** Tick positions and labels along one parallel-coordinates axis. */
function axisTicks(axis: PlotAxis): { position: number; label: string }[] {
  if (axis.kind === 'categorical') {
    const categories = axis.categories ?? [];
    const every = Math.max(1, Math.ceil(categories.length / 12));
    return categories
      .map((label) => ({ position: axisPosition(axis, label) ?? 0, label }))
      .filter((_, i) => i % every === 0 || i === categories.length - 1);
  }
  const [lo, hi] = axis.domain ?? [0, 1];
  if (axis.kind === 'log') {
    const powers: number[] = [];
    for (let e = Math.ceil(Math.log10(lo) - 1e-9); 10 ** e <= hi * (1 + 1e-9); e++) powers.push(10 ** e);
    const values = powers.length >= 2 ? powers : [lo, hi];
    return values.map((v) => ({
      position: axisPosition(axis, v) ?? 0,
      label: Number(v.toPrecision(2)).toExponential().replace('e+', 'e'),
    }));
  }
  if (hi === lo) return [{ position: 0.5, label: String(lo) }];
  const { values, step } = niceTicks(lo, hi, 4);
  const inside = values.filter((v) => v >= lo - 1e-12 && v <= hi + 1e-12);
  const labels = tickLabels(inside, step);
  return inside.map((v, i) => ({ position: axisPosition(axis, v) ?? 0, label: labels[i] }));
}

/** One vertical axis per parameter plus the score; a line per trial, coloured by its score. */
export function parallelCoordinatesChart(plots: TuningPlots): ChartSpec {
  const { axes, rows } = plots.parallel;
  const lines = rows
    .filter((r) => r.score !== null)
    .flatMap((r) =>
      r.positions.flatMap((position, k) =>
        position === null ? [] : [{ trial: r.trial, axis: k, position, score: r.score }],
      ),
    );
  const ticks = axes.flatMap((axis, k) => axisTicks(axis).map((t) => ({ ...t, axis: k })));
  const titles = axes.map((axis, k) => ({
    axis: k,
    label: axis.label,
    kind: axis.kind === 'log' ? 'log' : '',
  }));
  const x = {
    field: 'axis',
    type: 'quantitative' as const,
    // Room on the left of the first axis for its tick labels.
    scale: { domain: [-0.6, axes.length - 0.65] },
    axis: null,
  };
  const y = { field: 'position', type: 'quantitative' as const, scale: { domain: [-0.1, 1.04] }, axis: null };
  return {
    width: Math.max(480, 130 * axes.length),
    height: 380,
    title: `Parallel coordinates: ${rows.filter((r) => r.score !== null).length} trials, coloured by ${plots.valueLabel}`,
    layer: [
      {
        data: { values: axes.map((_, k) => ({ axis: k })) },
        mark: { type: 'rule', color: '#9e9e9e' },
        encoding: { x, y: { datum: 0, type: 'quantitative', scale: y.scale, axis: null }, y2: { datum: 1 } },
      },
      {
        data: { values: lines },
        mark: { type: 'line', strokeWidth: 1.6, opacity: 0.85 },
        encoding: {
          x,
          y,
          detail: { field: 'trial', type: 'nominal' },
          color: {
            field: 'score',
            type: 'quantitative',
            title: plots.valueLabel,
            // The best trials in the darkest colour, whichever way the goal points.
            scale: { scheme: 'viridis', reverse: plots.goal === 'maximize' },
          },
        },
      },
      {
        data: { values: ticks },
        mark: { type: 'text', align: 'right', dx: -4, fontSize: 10, color: '#424242' },
        encoding: { x, y, text: { field: 'label', type: 'nominal' } },
      },
      {
        data: { values: titles },
        mark: { type: 'text', baseline: 'top', fontSize: 12, color: '#212121', limit: 125 },
        encoding: {
          x,
          y: { datum: -0.04, type: 'quantitative', scale: y.scale, axis: null },
          text: { field: 'label', type: 'nominal' },
        },
      },
      {
        data: { values: titles.filter((t) => t.kind === 'log') },
        mark: { type: 'text', baseline: 'top', dy: 15, fontSize: 10, color: '#757575' },
        encoding: {
          x,
          y: { datum: -0.04, type: 'quantitative', scale: y.scale, axis: null },
          text: { value: '(log scale)' },
        },
      },
    ],
  } as ChartSpec;
}

/** Horizontal bars, most important first, labelled with their share. */
export function importanceChart(importance: ImportancePlot): ChartSpec {
  const values = importance.params.map((p, rank) => ({
    ...p,
    rank,
    percent: `${(p.importance * 100).toFixed(1)}%`,
  }));
  const y = { field: 'key', type: 'nominal', sort: { field: 'rank' }, title: null } as const;
  return {
    width: 480,
    height: Math.max(120, 36 * values.length),
    title: {
      text: 'Parameter importance',
      subtitle: `permutation importance of a random-forest surrogate, ${importance.trials} trials`,
    },
    data: { values },
    encoding: { y },
    layer: [
      {
        mark: { type: 'bar', color: STATE_COLORS.completed },
        encoding: {
          x: {
            field: 'importance',
            type: 'quantitative',
            scale: { domain: [0, 1] },
            axis: { format: '.0%' },
            title: 'share of the explained variation',
          },
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 },
        encoding: {
          x: { field: 'importance', type: 'quantitative' },
          text: { field: 'percent', type: 'nominal' },
        },
      },
    ],
  } as ChartSpec;
}

/** The first two objectives of every ranked trial; the Pareto front highlighted and joined. */
export function paretoChart(pareto: ParetoPlot): ChartSpec {
  const axis = (field: 'x' | 'y') =>
    ({
      field,
      type: 'quantitative',
      title: `${pareto[field].metric} (${goalNote(pareto[field].goal)})`,
      scale: { zero: false },
    }) as const;
  const [x, y] = [axis('x'), axis('y')];
  const values = pareto.points.map((p) => ({ ...p, series: p.front ? 'Pareto front' : 'dominated' }));
  const color = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain: ['Pareto front', 'dominated'], range: [STATE_COLORS.failed, '#9e9e9e'] },
    legend: { orient: 'top', direction: 'horizontal' },
  } as const;
  return {
    width: 480,
    height: 400,
    title: `Pareto front: ${pareto.x.metric} against ${pareto.y.metric}`,
    layer: [
      {
        data: { values: values.filter((p) => p.front) },
        mark: { type: 'line', strokeDash: [4, 3], color: STATE_COLORS.failed },
        encoding: { x, y, order: { field: 'x', type: 'quantitative' } },
      },
      { data: { values }, mark: { type: 'point', filled: true, size: 70 }, encoding: { x, y, color } },
    ],
  } as ChartSpec;
}
