/**
 * Tuning trials as parallel coordinates (SVG): one axis per parameter and one for the objective,
 * a line per trial; the best drawn thick with a star, pruned dashed and grey. Categorical and
 * boolean values spread evenly on their axis.
 */
import type { RunDetail } from '../../../controller/web/api.js';
import { num } from '../lib/format.js';

type Tuning = NonNullable<RunDetail['tuning']>;
type Value = number | string | boolean;

const WIDTH = 720;
const HEIGHT = 260;
const PAD = { top: 24, bottom: 36, left: 60, right: 110 };

interface Axis {
  name: string;
  position: (value: Value | null) => number | null;
  ticks: { y: number; text: string }[];
}

function axisFor(name: string, values: (Value | null)[]): Axis {
  const span = HEIGHT - PAD.top - PAD.bottom;
  const present = values.filter((v): v is Value => v !== null);
  if (present.length > 0 && present.every((v) => typeof v === 'number')) {
    const nums = present as number[];
    const lo = Math.min(...nums);
    const hi = Math.max(...nums);
    const y = (v: number) => PAD.top + (hi === lo ? span / 2 : span - ((v - lo) / (hi - lo)) * span);
    return {
      name,
      position: (v) => (typeof v === 'number' ? y(v) : null),
      ticks:
        hi === lo
          ? [{ y: y(lo), text: num(lo, 3) }]
          : [
              { y: y(hi), text: num(hi, 3) },
              { y: y(lo), text: num(lo, 3) },
            ],
    };
  }
  const levels = [...new Set(present.map(String))].sort();
  const y = (i: number) => PAD.top + (levels.length === 1 ? span / 2 : (i / (levels.length - 1)) * span);
  return {
    name,
    position: (v) => (v === null ? null : y(levels.indexOf(String(v)))),
    ticks: levels.map((text, i) => ({ y: y(i), text })),
  };
}

export function TrialPlot(props: { tuning: Tuning }) {
  const { trials, metric, goal } = props.tuning;
  const params = [...new Set(trials.flatMap((t) => Object.keys(t.params)))];
  const axes = [
    ...params.map((p) =>
      axisFor(
        p,
        trials.map((t) => t.params[p] ?? null),
      ),
    ),
    axisFor(
      metric,
      trials.map((t) => t.metric),
    ),
  ];
  const x = (i: number) =>
    PAD.left + (axes.length === 1 ? 0 : (i / (axes.length - 1)) * (WIDTH - PAD.left - PAD.right));
  // Best last so it is drawn on top.
  const ordered = [...trials].sort((a, b) => Number(a.best) - Number(b.best));
  return (
    <figure class="trial-plot">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`Parallel coordinates of ${trials.length} trials: ${params.join(', ')} against ${metric} (${goal})`}
        data-testid="trial-plot"
        data-points={trials.length}
      >
        {axes.map((axis, i) => (
          <g key={axis.name} class="axis">
            <line x1={x(i)} x2={x(i)} y1={PAD.top} y2={HEIGHT - PAD.bottom} />
            <text x={x(i)} y={HEIGHT - PAD.bottom + 18} text-anchor="middle" class="axis-name">
              {axis.name}
            </text>
            {axis.ticks.map((tick) => (
              <text key={tick.text} x={x(i) + 4} y={tick.y + 4} class="tick">
                {tick.text}
              </text>
            ))}
          </g>
        ))}
        {ordered.map((trial) => {
          const points = axes
            .map((axis, i) => {
              const value = i < params.length ? (trial.params[params[i]!] ?? null) : trial.metric;
              const y = axis.position(value);
              return y === null ? null : `${x(i)},${y}`;
            })
            .filter((p): p is string => p !== null);
          const cls = trial.best ? 'trial best' : trial.pruned ? 'trial pruned' : 'trial';
          const last = points[points.length - 1]?.split(',');
          return (
            <g key={trial.trial} class={cls}>
              <title>
                Trial {trial.trial} ({trial.state}
                {trial.pruned ? ', pruned' : ''}
                {trial.best ? ', best' : ''}): {metric} {num(trial.metric)}
              </title>
              <polyline points={points.join(' ')} fill="none" />
              {trial.best && last && (
                <text x={Number(last[0]) + 6} y={Number(last[1]) + 5} class="best-mark">
                  ★ best
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption class="muted">
        <span class="legend-line best" aria-hidden="true" /> best trial ·{' '}
        <span class="legend-line pruned" aria-hidden="true" /> pruned (dashed) · objective {metric}, {goal}
      </figcaption>
    </figure>
  );
}
