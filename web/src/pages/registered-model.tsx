/**
 * A RegisteredModel: its versions side by side (aliases, key metric, gate outcome, lineage, who
 * serves them), a chart of the key metric by version, the alias history and a refused run.
 */
import type { RegisteredModelDoc } from '../../../controller/web/api.js';
import { LineChart } from '../components/line-chart.js';
import { TableHead } from '../components/table.js';
import { RelTime } from '../components/time.js';
import { num, short } from '../lib/format.js';
import { addressHref, pageHref } from '../lib/routes.js';
import { ResourceHeader, SpecBlock } from './resource-header.js';

export function RegisteredModelPage(props: { doc: RegisteredModelDoc }) {
  const { doc } = props;
  const { resource, keyMetric } = doc;
  // Oldest first on the chart: the metric's trend reads left to right.
  const charted = keyMetric
    ? [...doc.versions].reverse().filter((v) => v.metrics[keyMetric] !== undefined)
    : [];
  return (
    <>
      <ResourceHeader resource={resource} />
      {doc.rejected && (
        <p class="warning-box" role="note" data-testid="rejected">
          <span aria-hidden="true">⚠ </span>
          The gate refused run <a href={addressHref(`TrainingRun/${doc.rejected.run}`)}>{doc.rejected.run}</a>
          : {doc.rejected.reason}
        </p>
      )}
      {keyMetric && charted.length > 0 && (
        <figure
          class="chart-figure"
          data-testid="metric-chart"
          data-metric={keyMetric}
          data-points={charted.length}
        >
          <figcaption>{keyMetric} by version</figcaption>
          <LineChart
            xs={charted.map((v) => v.version)}
            xLabel="version"
            series={[{ label: keyMetric, values: charted.map((v) => v.metrics[keyMetric] ?? null) }]}
            height={180}
          />
        </figure>
      )}
      <section aria-labelledby="versions-h">
        <h2 id="versions-h">
          Versions <span class="muted">({doc.versionsTotal})</span>
        </h2>
        <div class="table-scroll">
          <table>
            <TableHead
              columns={[
                'Version',
                'Aliases',
                keyMetric ?? 'Metrics',
                'Gate',
                'Run',
                'Commit',
                'Data',
                'Created',
                'Served by',
              ]}
            />
            <tbody>
              {doc.versions.map((v) => (
                <tr key={v.version} data-testid="version-row" data-version={v.version}>
                  <th scope="row">v{v.version}</th>
                  <td>
                    {v.aliases.length > 0
                      ? v.aliases.map((a) => (
                          <span key={a} class="alias">
                            {a}
                          </span>
                        ))
                      : '–'}
                  </td>
                  <td
                    title={Object.entries(v.metrics)
                      .map(([k, x]) => `${k} ${x}`)
                      .join(', ')}
                  >
                    {keyMetric ? num(v.metrics[keyMetric]) : '–'}
                    {keyMetric && v.baseline[keyMetric] !== undefined && (
                      <span class="muted"> (baseline {num(v.baseline[keyMetric])})</span>
                    )}
                  </td>
                  <td>
                    {v.gate === null ? (
                      <span class="muted">no gate</span>
                    ) : (
                      <span class={`flag ${v.gate.passed ? 'ok' : 'bad'}`}>
                        <span aria-hidden="true">{v.gate.passed ? '✓ ' : '✕ '}</span>
                        {v.gate.passed ? 'passed' : 'failed'}
                        {v.gate.detail && <span class="muted"> · {v.gate.detail}</span>}
                      </span>
                    )}
                  </td>
                  <td>
                    <a href={`${pageHref('TrainingRun', v.run.name)}?run=${v.run.number}`}>
                      {v.run.name} #{v.run.number}
                    </a>
                  </td>
                  <td>
                    <code title={v.gitCommit ?? undefined}>{short(v.gitCommit)}</code>
                  </td>
                  <td>
                    <code title={v.dataSha256 ?? undefined}>{short(v.dataSha256, 12)}</code>
                  </td>
                  <td>
                    <RelTime at={v.createdAt} />
                  </td>
                  <td>
                    {v.servedBy.length > 0
                      ? v.servedBy.map((s) => (
                          <div key={s.endpoint}>
                            <a href={pageHref('DeployedEndpoint', s.endpoint)}>{s.endpoint}</a>{' '}
                            {num(s.percent, 3)}%
                          </div>
                        ))
                      : '–'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section aria-labelledby="aliases-h" data-testid="alias-history">
        <h2 id="aliases-h">Alias history</h2>
        {doc.aliasHistory.length === 0 ? (
          <p class="muted">{doc.aliasHistoryNote ?? 'No alias has moved yet.'}</p>
        ) : (
          <ol class="alias-history">
            {doc.aliasHistory.map((move, i) => (
              <li key={i}>
                <span class="alias">{move.alias}</span> → <strong>v{move.version}</strong>
                {move.previous !== null ? <span class="muted"> (was v{move.previous})</span> : ''} ·{' '}
                <RelTime at={move.at} />
              </li>
            ))}
          </ol>
        )}
      </section>
      <SpecBlock yaml={doc.specYaml} />
    </>
  );
}
