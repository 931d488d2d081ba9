/**
 * `mlform get` as text: plain aligned columns, kubectl-style, so the output greps and pastes well.
 * Colour comes only from the Style (off when not a terminal or NO_COLOR), and is applied after
 * padding so escape codes never throw the alignment off.
 */
import type { HealthStatus, ResourceStatus, SyncStatus } from '../engine/status.js';
import type { Style } from './style.js';

const HEADERS = ['KIND', 'NAME', 'SYNC', 'HEALTH', 'DETAILS'] as const;

export function renderResourceTable(statuses: readonly ResourceStatus[], style: Style): string {
  const rows = statuses.map((s) => [s.kind, s.name, s.sync, s.health, s.details]);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[], colour: (cell: string, i: number) => string) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? colour(cell, i) : colour(cell.padEnd(widths[i]), i)))
      .join('   ')
      .trimEnd();
  const header = line(HEADERS, (cell) => style.bold(cell));
  const body = statuses.map((s, row) =>
    line(rows[row], (cell, i) =>
      i === 2 ? syncColour(s.sync, style)(cell) : i === 3 ? healthColour(s.health, style)(cell) : cell,
    ),
  );
  return [header, ...body].join('\n');
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
