/** Error and diagnostic rendering shared by the pages (all text, never HTML). */
import type { ApiDiagnostic, ApiError } from '../../../controller/web/api.js';

export function ApiErrorBox(props: { error: ApiError; testid?: string }) {
  return (
    <div class="error-box" role="alert" data-testid={props.testid ?? 'api-error'}>
      <strong>
        <span aria-hidden="true">✕ </span>
        {props.error.error}
      </strong>
      {props.error.field && <div>Field: {props.error.field}</div>}
      {props.error.hint && <div class="hint">Hint: {props.error.hint}</div>}
    </div>
  );
}

/** A failure in a sentence (a run's error, a resource's last error); nothing when there is none. */
export function ErrorNote(props: { text: string | null }) {
  if (!props.text) return null;
  return (
    <p class="error-box" role="alert">
      <span aria-hidden="true">✕ </span>
      {props.text}
    </p>
  );
}

export function position(file?: string | null, line?: number | null, col?: number | null): string {
  if (!file) return '';
  return `${file}${line ? `:${line}${col ? `:${col}` : ''}` : ''}`;
}

export function Diagnostic(props: { diagnostic: ApiDiagnostic; testid: string }) {
  const d = props.diagnostic;
  const where = position(d.file, d.line, d.col);
  return (
    <li class={`diagnostic severity-${d.severity}`} data-testid={props.testid}>
      <span class="icon" aria-hidden="true">
        {d.severity === 'error' ? '✕' : '⚠'}
      </span>{' '}
      <span class="severity">{d.severity}</span> {where && <code class="where">{where}</code>}{' '}
      {d.address && <span class="address">{d.address}</span>} {d.path && <code>{d.path.join('.')}</code>}{' '}
      <span>{d.message}</span> <span class="code">[{d.code}]</span>
      {d.hint && <div class="hint">Hint: {d.hint}</div>}
    </li>
  );
}
