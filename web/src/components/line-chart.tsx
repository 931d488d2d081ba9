/**
 * A uPlot line chart (canvas: fast with thousands of points) of a few series over a shared x axis,
 * with an optional dashed reference line. The caller sets the test hooks on the wrapper.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { num } from '../lib/format.js';

export interface LineSeries {
  label: string;
  values: (number | null)[];
  /** A reference line (the naive baseline): dashed, no points. */
  reference?: boolean;
}

const PALETTE = ['--chart-1', '--chart-2', '--chart-3', '--chart-4'];

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export function LineChart(props: { xs: number[]; xLabel: string; series: LineSeries[]; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = props.series.map((s) => s.label).join('\u0000');

  // Recreate only when the set of series changes; new points go through setData.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const axis = cssVar('--text-muted', '#666');
    const grid = cssVar('--border', '#ddd');
    let colour = 0;
    const opts: uPlot.Options = {
      width: Math.max(240, el.clientWidth),
      height: props.height ?? 220,
      scales: { x: { time: false } },
      axes: [
        { label: props.xLabel, stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 60 },
      ],
      cursor: { drag: { x: false, y: false } },
      series: [
        { label: props.xLabel },
        ...props.series.map((s) =>
          s.reference
            ? {
                label: s.label,
                stroke: cssVar('--chart-ref', '#888'),
                dash: [6, 4],
                width: 1.5,
                points: { show: false },
              }
            : {
                label: s.label,
                stroke: cssVar(PALETTE[colour++ % PALETTE.length]!, '#36c'),
                width: 2,
                spanGaps: true,
                points: { show: props.xs.length <= 60 },
              },
        ),
      ],
    };
    const chart = new uPlot(opts, [props.xs, ...props.series.map((s) => s.values)], el);
    plot.current = chart;
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(240, el.clientWidth), height: opts.height }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // Keyed on the series set only: new points for the same series go through setData below.
  }, [shape, props.xLabel]);

  useEffect(() => {
    plot.current?.setData([props.xs, ...props.series.map((s) => s.values)]);
  }, [props.xs, props.series]);

  return <div class="chart" ref={box} />;
}

/** The numbers behind a chart, folded: a canvas says nothing to a screen reader or a copy-paste. */
export function DataTable(props: { xs: number[]; xLabel: string; series: LineSeries[] }) {
  return (
    <details class="chart-data">
      <summary>Data</summary>
      <div class="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">{props.xLabel}</th>
              {props.series.map((s) => (
                <th scope="col" key={s.label}>
                  {s.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {props.xs.map((x, i) => (
              <tr key={x}>
                <th scope="row">{x}</th>
                {props.series.map((s) => (
                  <td key={s.label}>{num(s.values[i] ?? null)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}
