/** Every error text the loop logs or reports (/api/status) is made here: credentials redacted. */
import { redactCredentials } from '../../resources/credential.js';
import { formatPath, type Diagnostic } from '../../resources/diagnostic.js';

export const describeDiagnostic = (d: Diagnostic): string =>
  redactCredentials(
    [
      d.file ? `${d.file}${d.line ? `:${d.line}${d.col ? `:${d.col}` : ''}` : ''}: ` : '',
      d.path && d.path.length > 0 ? `${formatPath(d.path)}: ` : '',
      d.message,
    ].join(''),
  );

export const describeDiagnostics = (diagnostics: readonly Diagnostic[]): string =>
  diagnostics.map(describeDiagnostic).join('; ');

/** A bug's text: the stack where there is one (redacted where it is reported). */
export const thrownText = (e: unknown): string => (e instanceof Error ? (e.stack ?? e.message) : String(e));
