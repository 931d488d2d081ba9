/**
 * The pending change: what `mlform plan` would do now, one block per change with its symbol, a
 * word for the action (colour is never the only signal) and its field rows as a diff.
 */
import type { PlanChange, PlanDoc } from '../../../controller/web/api.js';
import { Diagnostic } from '../components/messages.js';
import { TableHead } from '../components/table.js';
import { RelTime } from '../components/time.js';
import { addressHref } from '../lib/routes.js';

/** The words `plan` prints (controller/ui/plan-text.ts summaryLine). */
export function summaryLine(summary: Record<string, number>, hasChanges: boolean): string {
  const n = (action: string) => summary[action] ?? 0;
  const inProgress = n('wait') > 0 ? `; ${n('wait')} in progress` : '';
  if (!hasChanges) return `No changes: the actual state matches the manifests${inProgress}.`;
  const parts = [
    `${n('create') + n('replace')} to add`,
    `${n('update')} to change`,
    `${n('delete') + n('replace')} to destroy`,
    ...(n('register') > 0 ? [`${n('register')} to register`] : []),
    ...(n('promote') > 0 ? [`${n('promote')} to promote`] : []),
    ...(n('cancel') > 0 ? [`${n('cancel')} to cancel`] : []),
    ...(n('adopt') > 0 ? [`${n('adopt')} to adopt`] : []),
  ];
  return `Plan: ${parts.join(', ')}${inProgress}.`;
}

/** The colour family of an action (the symbol and the word carry the meaning too). */
function tone(action: string): string {
  if (action === 'create' || action === 'register') return 'add';
  if (action === 'update' || action === 'promote') return 'change';
  if (action === 'replace') return 'replace';
  if (action === 'delete' || action === 'cancel') return 'destroy';
  return 'neutral';
}

export function PlanPage(props: { doc: PlanDoc }) {
  const { doc } = props;
  const errors = doc.diagnostics.filter((d) => d.severity === 'error').length;
  return (
    <>
      <h1>Pending change</h1>
      <p class="muted">
        Stack {doc.stack} · observed <RelTime at={doc.observedAt} />
      </p>
      {!doc.available ? (
        <p class="error-box" role="alert">
          <span aria-hidden="true">✕ </span>No plan: the manifests do not load (see below).
        </p>
      ) : (
        <p class="plan-summary" data-testid="plan-summary">
          <strong>{summaryLine(doc.summary, doc.hasChanges)}</strong>
        </p>
      )}
      {errors > 0 && (
        <p class="error-box" role="alert">
          Error: the plan has {errors} error{errors === 1 ? '' : 's'}; apply will refuse it.
        </p>
      )}
      {doc.diagnostics.length > 0 && (
        <ul class="diagnostics">
          {doc.diagnostics.map((d, i) => (
            <Diagnostic key={i} diagnostic={d} testid="plan-diagnostic" />
          ))}
        </ul>
      )}
      <div class="changes">
        {doc.changes.map((change) => (
          <Change key={`${change.address}-${change.action}`} change={change} />
        ))}
      </div>
    </>
  );
}

function Change(props: { change: PlanChange }) {
  const c = props.change;
  const drift = c.fields.some((f) => f.drift);
  return (
    <section
      class={`change tone-${tone(c.action)}`}
      data-testid="change"
      data-address={c.address}
      data-action={c.action}
      aria-label={`${c.action} ${c.address}`}
    >
      <h2 class="change-head">
        <code class="symbol" aria-hidden="true">
          {c.symbol.trim() || '·'}
        </code>{' '}
        <span class="action-word">{c.action}</span>{' '}
        <a href={addressHref(c.address)}>{c.resource || c.address}</a>
        {drift && <span class="mark drift"> (drift)</span>}
        {c.deferred && <span class="mark deferred"> (known after training)</span>}
      </h2>
      {c.reason && <p class="reason muted"># {c.reason}</p>}
      {c.fields.length > 0 && (
        <table class="field-diff">
          <caption class="visually-hidden">Fields of {c.address}</caption>
          <TableHead columns={['Field', 'Before / after', 'Notes']} />
          <tbody>
            {c.fields.map((f) => (
              <tr key={f.path} data-testid="field-diff" data-path={f.path}>
                <th scope="row">
                  <code>{f.path}</code>
                </th>
                <td>
                  {f.before !== null && (
                    <pre class="before">
                      <span aria-label="before">- </span>
                      {f.before}
                    </pre>
                  )}
                  {(f.after !== null || c.deferred) && (
                    <pre class="after">
                      <span aria-label="after">+ </span>
                      {f.after ?? '(known after training)'}
                    </pre>
                  )}
                </td>
                <td>
                  {f.replace && <span class="mark replace"># forces replacement</span>}{' '}
                  {f.drift && <span class="mark drift">(drift)</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
