/**
 * The human view of a plan, after Terraform: `+` create, `~` update, `-/+` replace, `-` delete,
 * `<=` wait, field-level diffs below each change, a summary line. Colour comes from the Style
 * (off when not a terminal or NO_COLOR). It only formats: every decision is in the Plan.
 */
import type { Change, FieldChange, Plan, TrafficEntry } from '../engine/change.js';
import { hasChanges, isApplicable } from '../engine/change.js';
import { pinpointDiagnostics } from '../engine/diagnostic-positions.js';
import type { PlanView } from '../engine/plan-view.js';
import { readLoadedFile } from '../../manifests/loaded-files.js';
import { renderDiagnostic } from './diagnostics-view.js';
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
    out.push(`mlform will perform the following actions (stack ${plan.stack}):`, '');
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
  out.push(summaryLine(plan, style));
  if (!isApplicable(plan)) {
    const n = plan.diagnostics.filter((d) => d.severity === 'error').length;
    out.push(
      style.red(style.bold(`Error: the plan has ${n} error${n === 1 ? '' : 's'}; apply will refuse it.`)),
    );
  }
  return out.join('\n');
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
  ];
  return `${style.bold('Plan:')} ${parts.join(', ')}${inProgress}.`;
}

function renderChange(c: Change, style: Style): string | undefined {
  if (c.action === 'noop') return c.notice ? style.dim(`  # ${c.resource}: ${c.reason}`) : undefined;
  const comment = style.dim(`  # ${c.reason}`);
  const drift = c.drift ? ` ${style.yellow('(drift)')}` : '';
  const body = [comment, `${symbol(c, style)} ${headline(c, style)}${drift}`];
  for (const line of details(c, style)) body.push(`      ${line}`);
  return body.join('\n');
}

function symbol(c: Change, style: Style): string {
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
      return style.cyan(' <=');
    case 'noop':
      return '   ';
  }
}

const later = (style: Style) => style.dim(LATER);

function headline(c: Exclude<Change, { action: 'noop' }>, style: Style): string {
  switch (c.action) {
    case 'create':
      return c.kind === 'TrainingRun' ? `${c.address} (${c.after.name}#${c.after.number})` : c.address;
    case 'update':
      return c.address;
    case 'replace': {
      const old = c.before.cancel.map((r) => `${r.name}#${r.number}`).join(', ');
      return old
        ? `${c.address} (${old} -> ${c.after.name}#${c.after.number})`
        : `${c.address} (${c.after.name}#${c.after.number})`;
    }
    case 'delete':
      if (c.kind === 'RegisteredModel' && c.target === 'version') {
        return `version ${c.before.model} v${c.before.version} (from ${c.before.run.name}#${c.before.run.number})`;
      }
      return c.address;
    case 'cancel':
      return `cancel ${c.address} (${c.before.state})`;
    case 'register': {
      const run = `${c.after.run.name}#${c.after.run.number}`;
      return c.after.deferred
        ? `register ${c.after.model} from ${run}, version ${later(style)}`
        : `register ${c.after.model} v${c.after.version} from ${run}`;
    }
    case 'promote': {
      const from = c.before.version === null ? '(none)' : `v${c.before.version}`;
      const to = c.after.deferred ? later(style) : `v${c.after.version}`;
      return `alias ${c.after.model}/${c.after.alias} ${from} -> ${to}`;
    }
    case 'wait':
      return c.kind === 'TrainingRun'
        ? `wait ${c.address} (${c.run.name}#${c.run.number})`
        : `wait ${c.address}`;
  }
}

function details(c: Change, style: Style): string[] {
  if (c.action === 'create' && c.kind === 'DeployedEndpoint') {
    return [`traffic: ${formatTraffic(c.after.traffic, style)}`];
  }
  return c.fields.map((f) => renderField(f, style));
}

function renderField(f: FieldChange, style: Style): string {
  const drift = f.drift ? ` ${style.yellow('(drift)')}` : '';
  if (f.before === null) return `${style.green('+')} ${f.path}: ${formatValue(f.after, style)}${drift}`;
  if (f.after === null) return `${style.red('-')} ${f.path}: ${formatValue(f.before, style)}${drift}`;
  return `${style.yellow('~')} ${f.path}: ${formatValue(f.before, style)} -> ${formatValue(f.after, style)}${drift}`;
}

function formatValue(value: unknown, style: Style): string {
  if (isTraffic(value)) return formatTraffic(value, style);
  return JSON.stringify(value) ?? 'null';
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
    .map((t) => {
      if (typeof t.selector === 'number') return `v${t.version ?? t.selector} ${t.percent}%`;
      const version = t.version === null ? later(style) : `(v${t.version})`;
      return `${t.selector} ${version} ${t.percent}%`;
    })
    .join(', ')}"`;
}
