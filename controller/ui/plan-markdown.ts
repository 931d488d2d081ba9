/**
 * The pull-request view of a plan (`plan -o markdown`): what a reviewer reads in a PR comment, after
 * the comments Atlantis and tfcmt post. The summary line comes first, then one collapsible section
 * per resource whose diff sits in a fenced `diff` block (GitHub colours `-` and `+` lines), then the
 * errors and warnings with `file:line`. The same plan renders to the same bytes (no time, no
 * colour), so a CI job can update its comment only when the plan changed.
 *
 * Everything from a manifest or the state is untrusted: inside fences it is escaped for terminals
 * and the fence is longer than any backtick run in it; in prose it goes through `escapeMarkdown` or
 * `codeSpan`; inside the HTML `<summary>` through `escapeHtml`.
 */
import type { Diagnostic } from '../../resources/diagnostic.js';
import type { Change, FieldChange, Plan } from '../engine/change.js';
import { isApplicable } from '../engine/change.js';
import { pinpointDiagnostics } from '../engine/diagnostic-positions.js';
import { readLoadedFile } from '../../manifests/loaded-files.js';
import type { PlanView } from '../engine/plan-view.js';
import { codeSpan, escapeHtml, escapeMarkdown, escapeTerminal as t, fencedBlock } from './escape.js';
import { formatValue, headline, summaryLine, symbol } from './plan-text.js';
import { createStyle } from './style.js';
import { changedCost, costHeading, costLines, costTotal } from './plan-cost.js';
import type { PlanCost } from '../engine/cost-schema.js';

const plain = createStyle(false);

export const planMarkdownView: PlanView = {
  format: 'markdown',
  render: (plan) => renderPlanMarkdown(plan),
};

export function renderPlanMarkdown(plan: Plan): string {
  const out: string[] = [`### mlform plan: stack ${codeSpan(plan.stack)}`, ''];
  // Numbers and fixed words only: nothing to escape.
  out.push(`**${summaryLine(plan, plain)}**`, '');
  if (!isApplicable(plan)) {
    const n = plan.diagnostics.filter((d) => d.severity === 'error').length;
    out.push(`:x: The plan has ${n} error${n === 1 ? '' : 's'}; apply will refuse it.`, '');
  }
  for (const [resource, changes] of byResource(plan.changes)) {
    out.push(...section(resource, changes), '');
  }
  const cost = changedCost(plan);
  if (cost) out.push(...costTable(cost), '');
  const located = pinpointDiagnostics(plan.diagnostics, readLoadedFile);
  const errors = located.filter((d) => d.severity === 'error');
  const warnings = located.filter((d) => d.severity !== 'error');
  if (errors.length > 0) out.push('#### Errors', '', ...errors.map(diagnosticItem), '');
  if (warnings.length > 0) out.push('#### Warnings', '', ...warnings.map(diagnosticItem), '');
  return `${out.join('\n').trimEnd()}\n`;
}

/** Changes that show something, grouped by resource in plan (dependency) order. */
function byResource(changes: readonly Change[]): Map<string, Change[]> {
  const groups = new Map<string, Change[]>();
  for (const c of changes) {
    if (c.action === 'noop' && !c.notice) continue;
    const list = groups.get(c.resource) ?? [];
    list.push(c);
    groups.set(c.resource, list);
  }
  return groups;
}

function section(resource: string, changes: Change[]): string[] {
  const actions = [...new Set(changes.map((c) => c.action))];
  const main = changes.find((c) => c.action !== 'noop') ?? changes[0];
  const mark = symbol(main, plain).trim() || '#';
  const lines: string[] = [];
  for (const c of changes) {
    lines.push(`# ${t(c.reason)}`);
    if (c.action === 'noop') continue;
    lines.push(`  ${symbol(c, plain).trim()} ${headline(c, plain)}${c.drift ? ' (drift)' : ''}`);
    for (const f of c.fields) lines.push(...fieldLines(f));
  }
  // A zero-width space after `@` and `#` keeps GitHub from linking mentions and references.
  const summary = escapeHtml(`${mark} ${t(resource)}`).replace(/[@#]/g, (c) => `${c}\u200b`);
  return [
    `<details><summary><code>${summary}</code> ${actions.join(', ')}</summary>`,
    '',
    fencedBlock(lines.join('\n'), 'diff'),
    '',
    '</details>',
  ];
}

/** A field as a `-` before line and a `+` after line, so GitHub colours them. */
function fieldLines(f: FieldChange): string[] {
  const notes = [...(f.drift ? ['drift'] : []), ...(f.replace ? ['forces replacement'] : [])];
  const note = notes.length > 0 ? `   # ${notes.join(', ')}` : '';
  const path = t(f.path);
  const out: string[] = [];
  if (f.before !== null)
    out.push(`-     ${path}: ${formatValue(f.before, plain)}${f.after === null ? note : ''}`);
  if (f.after !== null) out.push(`+     ${path}: ${formatValue(f.after, plain)}${note}`);
  return out;
}

/**
 * Data as prose: escapeMarkdown (which escapes `|` too, so a detail cannot add table cells), and
 * `$`, or GitHub reads `$2.27-$8.49` (an estimate, a budget's message) as inline math.
 */
const prose = (text: string) => escapeMarkdown(text).replace(/\$/g, '\\$');

/** The estimate as a table; names and details are escaped as prose. */
function costTable(cost: PlanCost): string[] {
  const cell = prose;
  return [
    `#### ${escapeMarkdown(costHeading(cost).replace(/:$/, ''))}`,
    '',
    '| resource | period | estimate | how |',
    '| --- | --- | --- | --- |',
    ...costLines(cost).map(
      (l) => `| ${codeSpan(l.address)} | ${l.period} | ${cell(l.amount)} | ${cell(l.detail)} |`,
    ),
    '',
    `**${cell(costTotal(cost))}**`,
  ];
}

function diagnosticItem(d: Diagnostic): string {
  const where = d.file ? codeSpan(`${d.file}${d.line ? `:${d.line}:${d.col ?? 1}` : ''}`) + ' ' : '';
  const hint = d.hint ? ` (hint: ${prose(d.hint)})` : '';
  const address = d.address && !d.message.includes(d.address) ? ` ${codeSpan(d.address)}` : '';
  return `- ${where}${prose(d.message)}${address} [${codeSpan(d.code)}]${hint}`;
}
