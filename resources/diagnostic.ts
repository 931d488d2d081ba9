/**
 * Structured diagnostics (Terraform's tfdiags, with positions). Every layer returns these instead of
 * throwing; only controller/cli/ turns them into text and exit codes.
 */
export type Severity = 'error' | 'warning';

/** A field path inside a manifest document, e.g. ['spec', 'traffic', 1, 'percent']. */
export type FieldPath = readonly (string | number)[];

export interface Diagnostic {
  severity: Severity;
  /** Stable machine-readable code, e.g. `unknown-field`, `dangling-reference`. */
  code: string;
  /** One sentence: what is wrong. */
  message: string;
  /** How to fix it, when the fix is obvious ("did you mean ...?"). */
  hint?: string;
  /** `Kind/name` of the resource concerned, when known. */
  address?: string;
  file?: string;
  /** 1-based. */
  line?: number;
  /** 1-based. */
  col?: number;
  /** Length of the highlighted source span, for code frames. */
  length?: number;
  path?: FieldPath;
}

export const error = (code: string, message: string, extra: Partial<Diagnostic> = {}): Diagnostic => ({
  severity: 'error',
  code,
  message,
  ...extra,
});

export const warning = (code: string, message: string, extra: Partial<Diagnostic> = {}): Diagnostic => ({
  severity: 'warning',
  code,
  message,
  ...extra,
});

/** Without repeats: equal diagnostics (one cause met by several calls) kept once, in order. */
export function uniqueDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = JSON.stringify([
      d.severity,
      d.code,
      d.message,
      d.hint,
      d.address,
      d.file,
      d.line,
      d.col,
      d.path,
    ]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export const hasErrors = (diagnostics: readonly Diagnostic[]): boolean =>
  diagnostics.some((d) => d.severity === 'error');

/** `spec.traffic[1].percent` */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}
