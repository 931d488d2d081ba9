/**
 * `mlform get` as text: plain aligned columns, kubectl-style, so the output greps and pastes well.
 * Colour comes only from the Style (off when not a terminal or NO_COLOR), and is applied after
 * padding so escape codes never throw the alignment off. Cells are data (names, details, error
 * messages) and are escaped (escape.ts) before they are measured.
 */
import type { HealthStatus, ResourceStatus, SyncStatus } from '../engine/status.js';
import { money, type RunCost } from '../engine/cost.js';
import { escapeTerminal } from './escape.js';
import type { Style } from './style.js';

/** Aligned columns; `colour(cell, column, row)` decorates an already padded cell (row -1 is the header). */
export function renderColumns(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  colour: (cell: string, column: number, row: number) => string = (cell) => cell,
): string {
  const cells = rows.map((r) => r.map((cell) => escapeTerminal(cell)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[], row: number) =>
    cells
      .map((cell, i) => colour(i === cells.length - 1 ? cell : cell.padEnd(widths[i]), i, row))
      .join('   ')
      .trimEnd();
  return [line(headers, -1), ...cells.map((r, row) => line(r, row))].join('\n');
}

const HEADERS = ['KIND', 'NAME', 'SYNC', 'HEALTH', 'DETAILS'];
/** `-o wide`, as kubectl's: more columns before the free-text DETAILS. */
const WIDE_HEADERS = ['KIND', 'NAME', 'SYNC', 'HEALTH', 'COST', 'DETAILS'];

/** What a row shows: a `ResourceStatus`, or a controller's `/api/status` entry mapped to it. */
export type ResourceRow = Pick<ResourceStatus, 'kind' | 'name' | 'sync' | 'health' | 'details'> & {
  /** TrainingRun: what its newest finished run cost (the one DETAILS speaks of). */
  cost?: RunCost;
};

export function renderResourceTable(
  statuses: readonly ResourceRow[],
  style: Style,
  options: { wide?: boolean } = {},
): string {
  const rows = statuses.map((s) =>
    options.wide
      ? [s.kind, s.name, s.sync, s.health, costCell(s.cost), s.details]
      : [s.kind, s.name, s.sync, s.health, s.details],
  );
  return renderColumns(options.wide ? WIDE_HEADERS : HEADERS, rows, (cell, column, row) => {
    if (row < 0) return style.bold(cell);
    const s = statuses[row];
    if (column === 2) return syncColour(s.sync, style)(cell);
    if (column === 3) return healthColour(s.health, style)(cell);
    return cell;
  });
}

/** `$1.70-$6.37 (1.5 GPU-h)`, `0.25 CPU-h` locally without a price, `-` when nothing is known. */
function costCell(cost: RunCost | undefined): string {
  if (!cost) return '-';
  const usage =
    cost.gpuHours !== undefined
      ? `${cost.gpuHours} GPU-h`
      : cost.cpuHours !== undefined
        ? `${cost.cpuHours} CPU-h`
        : undefined;
  if (!cost.amount) return usage ?? '-';
  return usage ? `${money(cost.amount)} (${usage})` : money(cost.amount);
}

export function syncColour(sync: SyncStatus, style: Style): (text: string) => string {
  return sync === 'Synced' ? style.green : sync === 'OutOfSync' ? style.yellow : style.dim;
}

export function healthColour(health: HealthStatus, style: Style): (text: string) => string {
  switch (health) {
    case 'Healthy':
      return style.green;
    case 'Progressing':
      return style.cyan;
    case 'Degraded':
      return style.red;
    case 'Missing':
      return style.yellow;
    case 'Suspended':
      return style.dim;
  }
}
