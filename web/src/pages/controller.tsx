/**
 * The controller: which commit it follows and applied, the last sync, leadership and readiness,
 * every error to act on with its manifest position, and the resources in retry backoff. Under
 * `mlform ui` (no controller) it shows when the state was last read instead.
 */
import type { ControllerDoc } from '../../../controller/web/api.js';
import { position } from '../components/messages.js';
import { TableHead } from '../components/table.js';
import { RelTime } from '../components/time.js';
import { short } from '../lib/format.js';
import { addressHref } from '../lib/routes.js';

export function ControllerPage(props: { doc: ControllerDoc }) {
  const { doc } = props;
  const c = doc.controller;
  return (
    <>
      <h1>Controller</h1>
      {c ? (
        <dl class="facts">
          <dt>Commit</dt>
          <dd>
            <code data-testid="controller-commit" title={c.commit ?? undefined}>
              {short(c.commit)}
            </code>
          </dd>
          <dt>Applied commit</dt>
          <dd>
            <code title={c.appliedCommit ?? undefined}>{short(c.appliedCommit)}</code>
            {c.commit && c.appliedCommit && c.commit !== c.appliedCommit && (
              <span class="flag bad">
                {' '}
                <span aria-hidden="true">⚠ </span>behind the followed commit
              </span>
            )}
          </dd>
          <dt>Last sync</dt>
          <dd data-testid="last-sync">
            {c.lastSync ? (
              <>
                <RelTime at={c.lastSync.finishedAt} /> · {c.lastSync.result}
                <span class="muted">
                  {' '}
                  (took{' '}
                  {Math.max(
                    0,
                    (Date.parse(c.lastSync.finishedAt) - Date.parse(c.lastSync.startedAt)) / 1000,
                  )}{' '}
                  s)
                </span>
              </>
            ) : (
              'not yet'
            )}
          </dd>
          <dt>Leader</dt>
          <dd>{c.leader ? '✓ yes' : '– no (standby)'}</dd>
          <dt>Ready</dt>
          <dd>{c.ready ? '✓ ready' : '✕ not ready'}</dd>
          <dt>Source</dt>
          <dd>
            <code>{c.source}</code>
          </dd>
          <dt>Identity</dt>
          <dd>
            {c.identity} <span class="muted">(mlform {c.version})</span>
          </dd>
          {c.badCommit && (
            <>
              <dt>Bad commit</dt>
              <dd>
                <code title={c.badCommit}>{short(c.badCommit)}</code>{' '}
                <span class="muted">(refused; the last good state is kept)</span>
              </dd>
            </>
          )}
          {c.lastError && (
            <>
              <dt>Last error</dt>
              <dd class="error-text">{c.lastError}</dd>
            </>
          )}
        </dl>
      ) : (
        <p class="muted">
          No controller: this is <code>mlform ui</code> reading the {doc.provider} state itself.
        </p>
      )}
      {doc.refresh && (
        <p>
          State last read <RelTime at={doc.refresh.lastAt} testid={c ? undefined : 'last-sync'} />, every{' '}
          {doc.refresh.everySeconds} s.
        </p>
      )}
      <section aria-labelledby="errors-h">
        <h2 id="errors-h">Errors ({doc.errors.length})</h2>
        {doc.errors.length === 0 ? (
          <p>
            <span aria-hidden="true">✓ </span>No errors.
          </p>
        ) : (
          <ul class="errors">
            {doc.errors.map((e, i) => (
              <li key={i} data-testid="error-item" class="error-item">
                <span aria-hidden="true">✕ </span>
                {e.source && (
                  <code class="where">{position(e.source.file, e.source.line, e.source.col)}</code>
                )}{' '}
                {e.address && <a href={addressHref(e.address)}>{e.address}</a>} <span>{e.message}</span>
                {e.hint && <div class="hint">Hint: {e.hint}</div>}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="backoff-h">
        <h2 id="backoff-h">Retry backoff ({doc.backoff.length})</h2>
        {doc.backoff.length === 0 ? (
          <p class="muted">No resource is waiting to retry.</p>
        ) : (
          <table>
            <TableHead columns={['Resource', 'Failures', 'Last error', 'Next retry']} />
            <tbody>
              {doc.backoff.map((b) => (
                <tr key={b.address} data-testid="backoff-row" data-address={b.address}>
                  <th scope="row">
                    <a href={addressHref(b.address)}>{b.address}</a>
                  </th>
                  <td>{b.failures}</td>
                  <td>{b.lastError}</td>
                  <td>
                    <RelTime at={b.nextRetryAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
