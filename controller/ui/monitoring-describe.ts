/**
 * The Monitoring block of `mlform describe deployedendpoint/<name>`: the window scored, the
 * requests counted, a table of feature drift scores (worst first) and live quality next to the
 * validation metric. Feature names come from statistics.json and window summaries (attacker-written
 * artifacts): every value is escaped for the terminal.
 */
import { worstFirst } from '../../monitoring/drift.js';
import type { MonitoringStatus } from '../../monitoring/status.js';
import { formatMetric } from '../engine/status.js';
import { escapeTerminal as t } from './escape.js';
import { renderColumns } from './resource-table.js';
import type { Style } from './style.js';

const field = (label: string, value: string): string => `${`${label}:`.padEnd(12)}${value}`;

/** `2026-01-01 10:00Z`: windows are minutes long at least. */
const minute = (iso: string): string => iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, 'Z');

export function monitoringLines(m: MonitoringStatus, style: Style): string[] {
  const window =
    m.windowStart && m.windowEnd ? `${minute(t(m.windowStart))} - ${minute(t(m.windowEnd))}` : '(none yet)';
  const lines = [
    field(
      'Window',
      `${window}, ${m.count} request${m.count === 1 ? '' : 's'}${m.version ? `, v${m.version}` : ''}`,
    ),
    field('Drift', m.drift === 'drifted' ? style.red('drifted') : m.drift),
  ];
  if (m.detail) lines.push(field('Detail', t(m.detail)));
  if (m.logged !== undefined || m.dropped !== undefined)
    lines.push(field('Logged', `${m.logged ?? 0} sampled, ${m.dropped ?? 0} dropped`));
  const q = m.quality;
  if (q) {
    const vs = q.validation !== undefined ? `, validation ${formatMetric(q.validation)}` : '';
    const verdict = q.degraded ? style.red('past its bound') : 'within bounds';
    lines.push(
      field('Quality', `live ${q.metric} ${formatMetric(q.value)} over ${q.count} feedback${vs}: ${verdict}`),
    );
  }
  if (m.features.length > 0) {
    const worst = worstFirst(m.features);
    lines.push(
      '',
      renderColumns(
        ['FEATURE', 'METRIC', 'SCORE', 'THRESHOLD', 'KS', 'DRIFTED'],
        worst.map((f) => [
          f.name,
          f.metric,
          formatMetric(f.score),
          formatMetric(f.threshold),
          f.ks === undefined ? '-' : formatMetric(f.ks),
          f.drifted ? 'yes' : 'no',
        ]),
      ),
    );
  }
  return lines;
}
