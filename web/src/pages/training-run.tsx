/**
 * A TrainingRun: the run shown (`?run=N`, else the newest) with its state, progress and ETA,
 * curves per base metric against the naive baseline, model health, the log tail (following while
 * it runs), where its artifact is, and for tuning the trials; the list of runs beside it.
 */
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { RunDetail, TrainingRunDoc } from '../../../controller/web/api.js';
import { CopyText } from '../components/copy-text.js';
import { ErrorNote } from '../components/messages.js';
import { DataTable, LineChart, type LineSeries } from '../components/line-chart.js';
import { RowTable } from '../components/table.js';
import { RelTime } from '../components/time.js';
import { TrialPlot } from '../components/trial-plot.js';
import { detailAfterState, duration, metricsText, num, percent, short } from '../lib/format.js';
import { pageHref } from '../lib/routes.js';
import { ResourceHeader, SpecBlock } from './resource-header.js';

export function TrainingRunPage(props: { doc: TrainingRunDoc }) {
  const { doc } = props;
  const { resource, run } = doc;
  return (
    <>
      <ResourceHeader resource={resource} />
      <div class="split">
        <div class="split-main">{run ? <RunView run={run} /> : <p>No run yet.</p>}</div>
        <aside class="split-side" aria-labelledby="runs-h">
          <h2 id="runs-h">
            Runs <span class="muted">({doc.runsTotal})</span>
          </h2>
          <ol class="run-list" data-testid="run-list">
            {doc.runs.map((r) => (
              <li
                key={r.number}
                data-testid="run-row"
                data-number={r.number}
                class={run?.number === r.number ? 'current' : undefined}
              >
                <a
                  href={`${pageHref('TrainingRun', resource.name)}?run=${r.number}`}
                  aria-current={run?.number === r.number ? 'page' : undefined}
                >
                  #{r.number}
                </a>{' '}
                <span class={`state state-${r.state}`}>{r.state}</span>{' '}
                <span class="muted">
                  {detailAfterState(r) && `${detailAfterState(r)} · `}
                  <RelTime at={r.createdAt} />
                  {r.schedule ? ` · by ${r.schedule}` : ''}
                </span>
              </li>
            ))}
          </ol>
        </aside>
      </div>
      <SpecBlock yaml={doc.specYaml} />
    </>
  );
}

function RunView(props: { run: RunDetail }) {
  const { run } = props;
  const p = run.progress;
  const fraction = p && p.epochs > 0 ? Math.min(1, p.epoch / p.epochs) : run.state === 'succeeded' ? 1 : 0;
  return (
    <>
      <section aria-labelledby="run-h" class="panel">
        <h2 id="run-h">
          Run #{run.number}{' '}
          <span class={`state state-${run.state}`} data-testid="run-state">
            {run.state}
          </span>
        </h2>
        <div data-testid="run-progress" class="progress-line">
          <progress max={1} value={fraction} aria-label="Training progress" />{' '}
          {p ? (
            <span>
              epoch {p.epoch}/{p.epochs}
              {p.trial ? ` · trial ${p.trial.done}/${p.trial.of}` : ''}
              {p.etaSeconds !== null ? ` · ETA ${duration(p.etaSeconds)}` : ''}
            </span>
          ) : (
            <span>{run.state === 'succeeded' ? 'finished' : run.state}</span>
          )}
        </div>
        <dl class="facts">
          <dt>Started</dt>
          <dd>
            <RelTime at={run.createdAt} />
          </dd>
          <dt>Finished</dt>
          <dd>
            <RelTime at={run.finishedAt} />
          </dd>
          <dt>Attempt</dt>
          <dd>{run.attempt}</dd>
          <dt>Metrics</dt>
          <dd>{metricsText(run.metrics) || '–'}</dd>
          <dt>Baseline</dt>
          <dd>{metricsText(run.baseline) || '–'}</dd>
          <dt>Git commit</dt>
          <dd>
            <code title={run.gitCommit ?? undefined}>{short(run.gitCommit)}</code>
          </dd>
          <dt>Data</dt>
          <dd>
            <code title={run.dataSha256 ?? undefined}>{short(run.dataSha256, 12)}</code>
          </dd>
          <dt>Spec hash</dt>
          <dd>
            <code title={run.specHash}>{short(run.specHash, 12)}</code>
          </dd>
          <dt>Artifact</dt>
          <dd>
            <CopyText value={run.artifactUri} testid="artifact-uri" label="artifact URI" />
          </dd>
          <dt>TensorBoard</dt>
          <dd>
            <CopyText value={run.tensorboardDir} testid="tensorboard-dir" label="TensorBoard directory" />
          </dd>
        </dl>
        <ErrorNote text={run.error} />
      </section>
      <Curves run={run} />
      <HealthPanel health={run.health} />
      {run.tuning && <Trials tuning={run.tuning} />}
      <LogTail lines={run.logTail} following={!run.finishedAt} />
    </>
  );
}

interface CurveGroup {
  metric: string;
  series: RunDetail['curves']['series'];
  baseline: { name: string; value: number } | null;
}

/** `loss` with `val_loss`, `mae` with `val_mae`, ... in the order the trainer reported them. */
export function curveGroups(run: RunDetail): CurveGroup[] {
  const groups = new Map<string, CurveGroup>();
  for (const series of run.curves.series) {
    const metric = series.name.replace(/^val_/, '');
    let group = groups.get(metric);
    if (!group) {
      group = { metric, series: [], baseline: null };
      groups.set(metric, group);
    }
    group.series.push(series);
  }
  for (const group of groups.values()) {
    const names = [...group.series.map((s) => s.name), group.metric, `val_${group.metric}`];
    const name = names.find((n) => run.baselineLines[n] !== undefined);
    if (name) group.baseline = { name, value: run.baselineLines[name]! };
  }
  return [...groups.values()];
}

function Curves(props: { run: RunDetail }) {
  const { run } = props;
  const groups = curveGroups(run);
  if (groups.length === 0) return null;
  const xs = run.curves.epochs;
  return (
    <section aria-labelledby="curves-h">
      <h2 id="curves-h">Curves</h2>
      {run.curvesNote ? (
        <p class="muted" data-testid="curves-note">
          {run.curvesNote}
        </p>
      ) : null}
      <div class="charts">
        {groups.map((group) => {
          const drawn = xs.filter((_, i) =>
            group.series.some((s) => s.values[i] !== null && s.values[i] !== undefined),
          );
          const series: LineSeries[] = group.series.map((s) => ({
            label: `${s.name} (${s.split})`,
            values: s.values,
          }));
          if (group.baseline) {
            series.push({
              label: `baseline ${group.baseline.name}`,
              values: xs.map(() => group.baseline!.value),
              reference: true,
            });
          }
          return (
            <figure
              key={group.metric}
              class="chart-figure"
              data-testid="curve-chart"
              data-metric={group.metric}
              data-points={drawn.length}
              data-series={group.series.map((s) => s.name).join(',')}
              data-baseline={group.baseline ? String(group.baseline.value) : ''}
            >
              <figcaption>
                {group.metric} by epoch
                {group.baseline ? ` · naive baseline ${num(group.baseline.value)} (dashed)` : ''}
              </figcaption>
              <LineChart xs={xs} xLabel="epoch" series={series} />
              <DataTable xs={xs} xLabel="epoch" series={series.filter((x) => !x.reference)} />
            </figure>
          );
        })}
      </div>
    </section>
  );
}

function HealthPanel(props: { health: RunDetail['health'] }) {
  const h = props.health;
  return (
    <section aria-labelledby="health-h" class="panel" data-testid="health-panel">
      <h2 id="health-h">Model health</h2>
      {!h ? (
        <p class="muted">Not available yet: health is read from the run's metrics once it succeeds.</p>
      ) : (
        <>
          <dl class="facts">
            <dt>Score</dt>
            <dd>{num(h.score, 3)}</dd>
            <dt>Dead units (max share)</dt>
            <dd>{percent(h.deadFractionMax)}</dd>
            <dt>Gradient norm (last / max)</dt>
            <dd>
              {num(h.gradNormLast)} / {num(h.gradNormMax)}
            </dd>
            <dt>Gradients</dt>
            <dd>
              {h.exploding ? (
                <Flag text="exploding" />
              ) : h.vanishing ? (
                <Flag text="vanishing" />
              ) : (
                <Ok text="stable" />
              )}
            </dd>
            <dt>Loss stability (CV)</dt>
            <dd>{num(h.lossCv, 3)}</dd>
            <dt>Generalisation gap</dt>
            <dd>
              {num(h.gap, 3)} {h.overfitting ? <Flag text="overfitting" /> : <Ok text="no overfitting" />}
            </dd>
          </dl>
          <RowTable
            caption="Per layer"
            columns={['Layer', 'Dead units', 'Gradient norm']}
            rows={h.layers.map((layer) => ({
              key: layer.name,
              head: layer.name,
              cells: [percent(layer.deadFraction), num(layer.gradNorm)],
            }))}
          />
        </>
      )}
    </section>
  );
}

const Flag = (props: { text: string }) => (
  <span class="flag bad">
    <span aria-hidden="true">⚠ </span>
    {props.text}
  </span>
);
const Ok = (props: { text: string }) => (
  <span class="flag ok">
    <span aria-hidden="true">✓ </span>
    {props.text}
  </span>
);

type SortKey = 'trial' | 'metric';

function Trials(props: { tuning: NonNullable<RunDetail['tuning']> }) {
  const { tuning } = props;
  const [sort, setSort] = useState<{ key: SortKey; ascending: boolean }>({ key: 'trial', ascending: true });
  const params = [...new Set(tuning.trials.flatMap((t) => Object.keys(t.params)))];
  const value = (t: (typeof tuning.trials)[number]) => (sort.key === 'trial' ? t.trial : t.metric);
  const rows = [...tuning.trials].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va === null) return 1; // trials without a value last either way
    if (vb === null) return -1;
    return sort.ascending ? va - vb : vb - va;
  });
  const header = (key: SortKey, text: string) => (
    <th scope="col" aria-sort={sort.key === key ? (sort.ascending ? 'ascending' : 'descending') : 'none'}>
      <button
        type="button"
        class="sort"
        onClick={() => setSort({ key, ascending: sort.key === key ? !sort.ascending : true })}
      >
        {text} {sort.key === key ? (sort.ascending ? '▲' : '▼') : ''}
      </button>
    </th>
  );
  return (
    <section aria-labelledby="trials-h">
      <h2 id="trials-h">
        Tuning: {tuning.trials.length} trials, {tuning.goal} {tuning.metric}
      </h2>
      <TrialPlot tuning={tuning} />
      <table data-testid="trials-table">
        <caption class="visually-hidden">Trials</caption>
        <thead>
          <tr>
            {header('trial', 'Trial')}
            <th scope="col">State</th>
            {params.map((p) => (
              <th scope="col" key={p}>
                {p}
              </th>
            ))}
            {header('metric', tuning.metric)}
          </tr>
        </thead>
        <tbody>
          {rows.map((t) => (
            <tr
              key={t.trial}
              data-testid="trial-row"
              data-trial={t.trial}
              data-state={t.state}
              data-best={t.best ? 'true' : undefined}
              class={t.best ? 'best' : t.pruned ? 'pruned' : undefined}
            >
              <th scope="row">
                {t.trial}
                {t.best && <span class="best-mark"> ★ best</span>}
              </th>
              <td>
                {t.state}
                {t.pruned && t.state !== 'pruned' ? ' (pruned)' : ''}
              </td>
              {params.map((p) => (
                <td key={p}>{t.params[p] === undefined ? '–' : String(t.params[p])}</td>
              ))}
              <td>{num(t.metric)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** The log tail stays scrolled to the bottom while following, unless the reader scrolled up. */
function LogTail(props: { lines: string[]; following: boolean }) {
  const pre = useRef<HTMLPreElement>(null);
  const atBottom = useRef(true);
  useLayoutEffect(() => {
    const el = pre.current;
    if (el && props.following && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [props.lines, props.following]);
  return (
    <section aria-labelledby="log-h">
      <h2 id="log-h">
        Log{' '}
        <span class="muted">
          ({props.lines.length} last lines{props.following ? ', following' : ''})
        </span>
      </h2>
      <pre
        class="log"
        ref={pre}
        tabIndex={0}
        data-testid="log-tail"
        aria-label="Log tail"
        onScroll={(e) => {
          const el = e.currentTarget as HTMLPreElement;
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {props.lines.join('\n')}
      </pre>
    </section>
  );
}
