/**
 * Diagnostics as text (with code frames) or as JSON values; the CLI picks one. Messages embed
 * manifest values, state and cloud errors, and code frames quote the manifest: all of it is escaped
 * for the terminal (escape.ts).
 */
import { MASK, redactCredentials } from '../../resources/credential.js';
import { formatPath, type Diagnostic } from '../../resources/diagnostic.js';
import { readLoadedFile } from '../../manifests/loaded-files.js';
import { escapeTerminal as t } from './escape.js';
import type { Style } from './style.js';

/**
 * Reads source lines for code frames; files are read once per render. Only files the loader read
 * from inside the tree are quoted: a diagnostic about a refused link must not print its target.
 */
export function sourceLines(): (file: string) => string[] | undefined {
  const cache = new Map<string, string[] | undefined>();
  return (file) => {
    if (!cache.has(file)) cache.set(file, readLoadedFile(file)?.split(/\r?\n/));
    return cache.get(file);
  };
}

export function renderDiagnostic(d: Diagnostic, style: Style, lines = sourceLines()): string {
  const where = d.file ? `${t(d.file)}${d.line ? `:${d.line}:${d.col ?? 1}` : ''}` : 'mlform';
  const label = d.severity === 'error' ? style.red(style.bold('error')) : style.yellow(style.bold('warning'));
  const out = [`${style.bold(where)} ${label} ${style.dim(`[${t(d.code)}]`)} ${t(d.message)}`];
  let source = d.file && d.line ? lines(d.file) : undefined;
  if (source && d.line && d.line <= source.length && d.code === 'literal-credential') {
    // The frame goes to terminals and CI logs: point at a credential-looking literal, never show it.
    const start = Math.max(0, (d.col ?? 1) - 1);
    const line = source[d.line - 1];
    source = source.with(
      d.line - 1,
      `${line.slice(0, start)}${MASK}${line.slice(start + (d.length ?? line.length))}`,
    );
    d = { ...d, length: MASK.length };
  }
  if (source && d.line && d.line <= source.length) {
    const width = String(d.line).length;
    if (d.line > 1 && source[d.line - 2].trim() !== '') {
      out.push(style.dim(`  ${String(d.line - 1).padStart(width)} | `) + truncate(source[d.line - 2]));
    }
    out.push(`${style.red('>')} ${String(d.line).padStart(width)} | ${truncate(source[d.line - 1])}`);
    const col = Math.max(1, d.col ?? 1);
    if (col <= 160) {
      const caret = '^'.repeat(Math.max(1, Math.min(d.length ?? 1, 160 - col + 1)));
      out.push(`  ${' '.repeat(width)} | ${' '.repeat(col - 1)}${style.red(caret)}`);
    }
  }
  if (d.path && d.path.length > 0 && !d.message.includes(formatPath(d.path))) {
    out.push(style.dim(`  at ${t(formatPath(d.path))}${d.address ? ` (${t(d.address)})` : ''}`));
  }
  if (d.hint) out.push(`  ${style.cyan('hint:')} ${t(d.hint)}`);
  return out.join('\n');
}

/** A quoted source line: tabs become a space (so the caret lines up), anything else is escaped. */
const truncate = (line: string): string =>
  t(redactCredentials(line.length > 160 ? `${line.slice(0, 157)}...` : line).replace(/\t/g, ' '));

export function summarize(diagnostics: readonly Diagnostic[]): {
  errors: number;
  warnings: number;
  files: number;
} {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const files = new Set(diagnostics.filter((d) => d.severity === 'error' && d.file).map((d) => d.file)).size;
  return { errors, warnings: diagnostics.length - errors, files };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export function renderDiagnostics(diagnostics: readonly Diagnostic[], style: Style): string {
  const lines = sourceLines();
  return diagnostics.map((d) => renderDiagnostic(d, style, lines)).join('\n\n');
}

export function diagnosticsSummaryLine(diagnostics: readonly Diagnostic[], style: Style): string {
  const { errors, warnings, files } = summarize(diagnostics);
  const parts = [plural(errors, 'error')];
  if (warnings > 0) parts.push(plural(warnings, 'warning'));
  return style.red(`✗ ${parts.join(', ')}${files > 0 ? ` in ${plural(files, 'file')}` : ''}`);
}

/** The JSON shape of a diagnostic: stable field names, the path as a string and as segments. */
export const diagnosticJson = (d: Diagnostic) => ({
  severity: d.severity,
  code: d.code,
  message: d.message,
  ...(d.hint !== undefined && { hint: d.hint }),
  ...(d.file !== undefined && { file: d.file }),
  ...(d.line !== undefined && { line: d.line, column: d.col ?? 1 }),
  ...(d.path !== undefined && { path: formatPath(d.path), pathSegments: d.path }),
  ...(d.address !== undefined && { address: d.address }),
});
