/** Problems found in a training table, reported together (the first few of each kind) as one error. */

export interface CellProblem {
  column: string;
  /** 0-based index of the row in the loaded table. */
  row: number;
  message: string;
}

const SHOWN = 5;

export class DataError extends Error {
  override readonly name = 'DataError';
  constructor(
    message: string,
    readonly problems: readonly CellProblem[] = [],
  ) {
    super(problems.length === 0 ? message : `${message}\n${formatProblems(problems)}`);
  }
}

function formatProblems(problems: readonly CellProblem[]): string {
  const lines = problems.slice(0, SHOWN).map((p) => `  row ${p.row + 1}, column "${p.column}": ${p.message}`);
  if (problems.length > SHOWN) lines.push(`  ... and ${problems.length - SHOWN} more`);
  return lines.join('\n');
}

/** Collects cell problems up to a cap, so a broken 1M-row column does not build a 1M-entry list. */
export class ProblemList {
  readonly items: CellProblem[] = [];
  total = 0;
  add(column: string, row: number, message: string): void {
    this.total++;
    if (this.items.length < 100) this.items.push({ column, row, message });
  }
  throwIfAny(message: string): void {
    if (this.total > 0) throw new DataError(`${message} (${this.total} bad values)`, this.items);
  }
}
