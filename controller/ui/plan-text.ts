/**
 * The human view of a plan, after Terraform: `+` create, `~` update, `-/+` replace, `-` delete,
 * `<=` wait and adopt, field-level diffs below each change, a summary line. Colour comes from the Style
 * (off when not a terminal or NO_COLOR). It only formats: every decision is in the Plan. Every
 * string that came from a manifest or the state goes through `t` (escape.ts), so a description
 * holding terminal sequences shows them instead of rewriting the lines around it.
 */
import type { Change, FieldChange, Plan, TrafficEntry } from '../engine/change.js';
import { hasChanges, isApplicable } from '../engine/change.js';
import { pinpointDiagnostics } from '../engine/diagnostic-positions.js';
import type { PlanView } from '../engine/plan-view.js';
import { readLoadedFile } from '../../manifests/loaded-files.js';
import { runRef } from '../../resources/address.js';
import { renderDiagnostic } from './diagnostics-view.js';
import { escapeTerminal as t } from './escape.js';
import { changedCost, costHeading, costLines, costTotal } from './plan-cost.js';
import type { PlanCost } from '../engine/cost-schema.js';
import type { Style } from './style.js';

export interface PlanTextOptions {
  style: Style;
  /**
   * Manifest text, to point diagnostics at fields and show code frames; by default the files the
   * loader read from inside the tree (never a file a diagnostic merely names).
   */
  readSource?: (file: string) => string | undefined;
}

export const createPlanTextView = (options: PlanTextOptions): PlanView => ({
  format: 'text',
  render: (plan) => renderPlanText(plan, options),
});

const LATER = '(known after training)';

export function renderPlanText(plan: Plan, { style, readSource = readLoadedFile }: PlanTextOptions): string {
  const blocks = plan.changes.flatMap((c) => {
    const block = renderChange(c, style);
    return block ? [block] : [];
  });
  const out: string[] = [];
  if (hasChanges(plan)) {
    out.push(`mlform will perform the following actions (stack ${t(plan.stack)}):`, '');
  }
  for (const block of blocks) out.push(block, '');
  if (plan.diagnostics.length > 0) {
    const texts = new Map<string, string[] | undefined>();
    const lines = (file: string) => {
      if (!texts.has(file)) texts.set(file, readSource(file)?.split(/\r?\n/));
      return texts.get(file);
    };
    const located = pinpointDiagnostics(plan.diagnostics, readSource);
    out.push(located.map((d) => renderDiagnostic(d, style, lines)).join('\n\n'), '');
  }
  const cost = changedCost(plan);
  if (cost) out.push(...costBlock(cost, style), '');
  out.push(summaryLine(plan, style));
  if (!isApplicable(plan)) {
    const n = plan.diagnostics.filter((d) => d.severity === 'error').length;
    out.push(
      style.red(style.bold(`Error: the plan has ${n} error${n === 1 ? '' : 's'}; apply will refuse it.`)),
    );
  }
  return out.join('\n');
}

/** The estimate as aligned columns: address, period, amount, then how it was computed. */
function costBlock(cost: PlanCost, style: Style): string[] {
  const lines = costLines(cost);
  const width = (key: 'address' | 'period' | 'amount') => Math.max(...lines.map((l) => t(l[key]).length));
  const [a, p, m] = [width('address'), width('period'), width('amount')];
  return [
    style.bold(costHeading(cost)),
    ...lines.map(
      (l) =>
        `  ${t(l.address).padEnd(a)}  ${l.period.padEnd(p)}  ${l.amount.padEnd(m)}  ${style.dim(t(l.detail))}`,
    ),
    style.bold(costTotal(cost)),
  ];
}

export function summaryLine(plan: Pick<Plan, 'summary' | 'changes'>, style: Style): string {
  const s = plan.summary;
  const inProgress = s.wait > 0 ? `; ${s.wait} in progress` : '';
  if (!hasChanges(plan)) {
    return `${style.green('No changes:')} the actual state matches the manifests${inProgress}.`;
  }
  const parts = [
    `${s.create + s.replace} to add`,
    `${s.update} to change`,
    `${s.delete + s.replace} to destroy`,
    ...(s.register > 0 ? [`${s.register} to register`] : []),
    ...(s.promote > 0 ? [`${s.promote} to promote`] : []),
    ...(s.cancel > 0 ? [`${s.cancel} to cancel`] : []),
    ...((s.fire ?? 0) > 0 ? [`${s.fire} to fire`] : []),
    // Plans saved before adoption have no count.
    ...((s.adopt ?? 0) > 0 ? [`${s.adopt} to adopt`] : []),
  ];
  return `${style.bold('Plan:')} ${parts.join(', ')}${inProgress}.`;
}

function renderChange(c: Change, style: Style): string | undefined {
  if (c.action === 'noop') return c.notice ? style.dim(`  # ${t(c.resource)}: ${t(c.reason)}`) : undefined;
  const comment = style.dim(`  # ${t(c.reason)}`);
  const drift = c.drift ? ` ${style.yellow('(drift)')}` : '';
  const body = [comment, `${symbol(c, style)} ${headline(c, style)}${drift}`];
  for (const line of details(c, style)) body.push(`      ${line}`);
  return body.join('\n');
}

export function symbol(c: Change, style: Style): string {
  switch (c.action) {
    case 'create':
    case 'register':
      return style.green('  +');
    case 'update':
    case 'promote':
      return style.yellow('  ~');
    case 'replace':
      return `${style.red('-/')}${style.green('+')}`;
    case 'delete':
    case 'cancel':
      return style.red('  -');
    case 'wait':
    case 'adopt':
      return style.cyan(' <=');
    case 'fire':
      return style.green('  !');
    case 'noop':
      return '   ';
  }
}

const later = (style: Style) => style.dim(LATER);

export function headline(c: Exclude<Change, { action: 'noop' }>, style: Style): string {
  switch (c.action) {
    case 'create':
      return c.kind === 'TrainingRun' ? `${t(c.address)} (${t(runRef(c.after))})` : t(c.address);
    case 'update':
      return t(c.address);
    case 'replace': {
      const old = c.before.cancel.map((r) => t(runRef(r))).join(', ');
      return old
        ? `${t(c.address)} (${old} -> ${t(runRef(c.after))})`
        : `${t(c.address)} (${t(runRef(c.after))})`;
    }
    case 'delete':
      if (c.kind === 'RegisteredModel' && c.target === 'version') {
        return `version ${t(c.before.model)} v${c.before.version} (from ${t(runRef(c.before.run))})`;
      }
      return t(c.address);
    case 'cancel':
      return `cancel ${t(c.address)} (${t(c.before.state)})`;
    case 'register': {
      const run = t(runRef(c.after.run));
      return c.after.deferred
        ? `register ${t(c.after.model)} from ${run}, version ${later(style)}`
        : `register ${t(c.after.model)} v${c.after.version} from ${run}`;
    }
    case 'promote': {
      const from = c.before.version === null ? '(none)' : `v${c.before.version}`;
      const to = c.after.deferred ? later(style) : `v${c.after.version}`;
      return `alias ${t(c.after.model)}/${t(c.after.alias)} ${from} -> ${to}`;
    }
    case 'adopt':
      return `adopt ${t(c.resource)} (${t(c.before.id)})`;
    case 'wait':
      return c.kind === 'TrainingRun' ? `wait ${t(c.address)} (${t(runRef(c.run))})` : `wait ${t(c.address)}`;
    case 'fire': {
      const replaced = c.after.replaces.map((r) => t(runRef(r))).join(', ');
      return `fire ${t(c.resource)} on a signal${replaced ? ` (cancels ${replaced})` : ''}`;
    }
  }
}

function details(c: Change, style: Style): string[] {
  const lines = c.fields.map((f) => renderField(f, style));
  // Plans saved before creates had fields still show where the traffic goes.
  if (c.action === 'create' && c.kind === 'DeployedEndpoint' && !c.fields.some((f) => f.path === 'traffic')) {
    lines.push(`traffic: ${formatTraffic(c.after.traffic, style)}`);
  }
  return lines;
}

function renderField(f: FieldChange, style: Style): string {
  const drift =
    (f.drift ? ` ${style.yellow('(drift)')}` : '') +
    (f.replace ? ` ${style.red('# forces replacement')}` : '');
  const path = t(f.path);
  if (f.before === null) return `${style.green('+')} ${path}: ${formatValue(f.after, style)}${drift}`;
  if (f.after === null) return `${style.red('-')} ${path}: ${formatValue(f.before, style)}${drift}`;
  return `${style.yellow('~')} ${path}: ${formatValue(f.before, style)} -> ${formatValue(f.after, style)}${drift}`;
}

export function formatValue(value: unknown, style: Style): string {
  if (isTraffic(value)) return formatTraffic(value, style);
  // JSON escapes C0 controls but not DEL, C1 or the bidi controls.
  return t(JSON.stringify(value) ?? 'null');
}

const isTraffic = (value: unknown): value is TrafficEntry[] =>
  Array.isArray(value) &&
  value.length > 0 &&
  value.every(
    (v) => v !== null && typeof v === 'object' && 'selector' in v && 'percent' in v && 'version' in v,
  );

/** `champion (v2) 90%, v3 10%`; a version still to be trained is `(known after training)`. */
export function formatTraffic(entries: readonly TrafficEntry[], style: Style): string {
  return `"${entries
    .map((e) => {
      if (typeof e.selector === 'number') return `v${e.version ?? e.selector} ${e.percent}%`;
      const version = e.version === null ? later(style) : `(v${e.version})`;
      return `${t(e.selector)} ${version} ${e.percent}%`;
    })
    .join(', ')}"`;
}
