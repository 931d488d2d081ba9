/** Diagnostics at the command boundary: rendered on stderr, errors summed up in one line. */
import { hasErrors, uniqueDiagnostics, type Diagnostic } from '../../resources/diagnostic.js';
import { diagnosticsSummaryLine, renderDiagnostics } from '../ui/diagnostics-view.js';
import type { CommandContext } from './context.js';

export function printProblems(ctx: CommandContext, all: readonly Diagnostic[]): void {
  // One cause met by several calls (no credentials, an unreachable host) is printed once.
  const diagnostics = uniqueDiagnostics(all);
  if (diagnostics.length === 0) return;
  ctx.printErr(renderDiagnostics(diagnostics, ctx.errStyle));
  if (hasErrors(diagnostics)) ctx.printErr(diagnosticsSummaryLine(diagnostics, ctx.errStyle));
}

/** Prints the problems and gives the exit status of a command that failed. */
export function failed(ctx: CommandContext, diagnostics: readonly Diagnostic[]): 1 {
  printProblems(ctx, diagnostics);
  return 1;
}
