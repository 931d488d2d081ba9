/**
 * `mlform describe kind/name`: a view model (what describe shows, also its JSON) and its text
 * rendering, kubectl-describe style: spec, status, conditions, recent events per kind, the plan.
 * Everything shown comes from manifests or state and is escaped for the terminal (escape.ts):
 * tables in `renderColumns`, single values with `t`, the YAML of the spec line by line.
 */
import { runRef } from '../../resources/address.js';
import { mapJsonLeaves } from '../../resources/json-walk.js';
import { ownValue } from '../../resources/own-property.js';
import { stringify } from 'yaml';
import type { LoadedResource } from '../../manifests/load.js';
import type {
  ObservedEndpoint,
  ObservedModel,
  ObservedRun,
  ObservedSchedule,
  ObservedState,
} from '../../providers/provider.js';
import { maskCredentials } from '../../resources/credential.js';
import { nextFireTime, signalOnly } from '../../resources/schedule.js';
import { DEFAULT_TRIGGER_COOLDOWN, type ScheduleTrigger } from '../../resources/monitoring.js';
import { triggerReasonOf } from '../../monitoring/trigger.js';
import { runsFiredBySignal } from '../engine/plan-triggers.js';
import { formatSecretRef, type SecretRef } from '../../resources/secret-ref.js';
import { lastFireOf, onceStatus, type OnceStatus } from '../engine/once-schedule.js';
import { formatInZone, formatMetric, runsNamed, type ResourceStatus } from '../engine/status.js';
import { healthColour, renderColumns, syncColour } from './resource-table.js';
import { escapeTerminal as t, escapeTerminalBlock } from './escape.js';
import { monitoringLines } from './monitoring-describe.js';
import type { Style } from './style.js';
import { finishedRunCosts, money, type RunCost } from '../engine/cost.js';
import { PRICES_AS_OF } from '../engine/cost-prices.js';
import { versionCosts, type VersionCost } from '../engine/actual-cost.js';
import type { ProjectConfig } from '../../resources/project.js';
import { renderStudy, type StudySummary } from './study-describe.js';

/** Recent history shown per resource; older entries are summarised by a count. */
const RECENT = 10;

export interface DescribeModel {
  status: ResourceStatus;
  source?: { file: string; line: number };
  specHash?: string;
  /** The normalised spec from the manifests, else the one last applied. */
  spec?: unknown;
  runs?: ObservedRun[];
  model?: ObservedModel;
  endpoint?: ObservedEndpoint;
  schedule?: ObservedSchedule & {
    nextFireTime?: string;
    once?: OnceStatus;
    runs: ObservedRun[];
    /** The newest run a trigger fired, and why (`triggers`, issue 15). */
    lastTriggered?: { run: string; at: string; reason: string };
  };
  /** What the finished runs of the manifest's spec cost (gcp, or local with `local.cpuHourPrice`). */
  costs?: RunCost[];
  /** RegisteredModel: what the run behind each version cost (locally CPU-hours, priced when set). */
  versionCosts?: VersionCost[];
  /** TrainingRun with tuning: the latest run's study, from its tuning.json (the describe command reads it). */
  study?: StudySummary;
}

export function describeModel(
  status: ResourceStatus,
  resource: LoadedResource | undefined,
  observed: ObservedState,
  now: Date = new Date(),
  project?: ProjectConfig,
  /** All loaded manifests: a version's run is priced with its TrainingRun's spec. */
  manifests: readonly LoadedResource[] = [],
): DescribeModel {
  const out: DescribeModel = {
    status,
    ...(resource && {
      source: { file: resource.source.file, line: resource.source.line },
      specHash: resource.specHash,
    }),
  };
  switch (status.kind) {
    case 'TrainingRun': {
      out.runs = runsNamed(observed, status.name);
      const costs =
        resource?.manifest.kind === 'TrainingRun'
          ? finishedRunCosts(project, resource.manifest.spec, resource.specHash, out.runs)
          : [];
      if (costs.length > 0) out.costs = costs;
      break;
    }
    case 'RegisteredModel': {
      out.model = observed.models.find((m) => m.name === status.name);
      out.specHash ??= out.model?.specHash;
      out.spec = out.model?.spec;
      const costs = out.model ? versionCosts(project, out.model, observed.runs, manifests) : [];
      if (costs.length > 0) out.versionCosts = costs;
      break;
    }
    case 'DeployedEndpoint':
      out.endpoint = observed.endpoints.find((e) => e.name === status.name);
      out.specHash ??= out.endpoint?.specHash;
      out.spec = out.endpoint?.spec;
      break;
    case 'Schedule': {
      const schedule = observed.schedules.find((s) => s.name === status.name);
      if (schedule) {
        const next = nextFireTime(schedule.spec, now);
        const runs = observed.runs
          .filter((r) => r.schedule === status.name)
          .sort((a, b) => b.number - a.number);
        const once = onceStatus(schedule.spec, lastFireOf(schedule, runs), now);
        const triggered = runsFiredBySignal(runs, status.name)[0];
        out.schedule = {
          ...schedule,
          ...(next && { nextFireTime: next.toISOString() }),
          ...(once && { once }),
          runs,
          ...(triggered && {
            lastTriggered: {
              run: runRef(triggered),
              at: triggered.createdAt,
              reason: triggerReasonOf(triggered) ?? '',
            },
          }),
        };
        out.specHash ??= schedule.specHash;
        out.spec = schedule.spec;
      }
      break;
    }
  }
  // The manifest wins: describe shows what the user declared, the plan shows how it differs.
  if (resource) out.spec = resource.manifest.spec;
  // Shown and printed as JSON: credential-looking literals are masked (secretRefs are references).
  if (out.spec !== undefined) out.spec = maskCredentials(out.spec);
  return out;
}

export function renderDescribe(model: DescribeModel, style: Style): string {
  const { status } = model;
  const out: string[] = [
    field('Name', t(status.name)),
    field('Kind', status.kind),
    field(
      'Manifest',
      model.source
        ? `${t(model.source.file)}:${model.source.line}`
        : '(not in the manifests; actual state only)',
    ),
  ];
  if (model.specHash) out.push(field('Spec hash', t(model.specHash.slice(0, 12))));
  out.push(
    field('Sync', syncColour(status.sync, style)(status.sync)),
    field('Health', `${healthColour(status.health, style)(status.health)}  ${t(status.details)}`),
  );

  if (model.spec !== undefined) {
    out.push(
      '',
      style.bold('Spec:'),
      indent(escapeTerminalBlock(stringify(withSecretRefsShown(model.spec)).trimEnd())),
    );
  }

  out.push(
    '',
    style.bold('Conditions:'),
    indent(
      renderColumns(
        ['TYPE', 'STATUS', 'REASON', 'MESSAGE'],
        status.conditions.map((c) => [c.type, c.status ? 'True' : 'False', c.reason, c.message]),
      ),
    ),
  );

  out.push(...kindSection(model, style));

  out.push('', style.bold('Plan:'));
  out.push(
    status.changes.length === 0
      ? indent(status.sync === 'Unknown' ? 'the plan has errors for this resource' : 'nothing to do')
      : indent(status.changes.map((c) => `${c.action.padEnd(8)} ${t(c.address)}: ${t(c.reason)}`).join('\n')),
  );
  return out.join('\n');
}

function kindSection(model: DescribeModel, style: Style): string[] {
  if (model.runs) {
    const runs = [
      '',
      style.bold('Runs:'),
      indent(runsTable(model.runs, model.specHash)),
      ...tensorboardSection(model.runs, style),
      ...(model.study ? renderStudy(model.study, style) : []),
    ];
    if (!model.costs) return runs;
    return [
      ...runs,
      '',
      style.bold(`Cost of the finished runs of this spec (USD, list prices of ${PRICES_AS_OF}):`),
      indent(
        renderColumns(
          ['RUN', 'COST', 'GPU-HOURS', 'CPU-HOURS', 'HOW'],
          model.costs.map((c) => [
            `#${c.run}`,
            c.amount ? money(c.amount) : '?',
            c.gpuHours === undefined ? '-' : String(c.gpuHours),
            c.cpuHours === undefined ? '-' : String(c.cpuHours),
            t(c.detail),
          ]),
        ),
      ),
    ];
  }
  if (model.model) {
    const m = model.model;
    const aliases = Object.entries(m.aliases)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([alias, v]) => `${t(alias)}=v${v}`)
      .join(', ');
    const recent = [...m.versions].sort((a, b) => b.version - a.version).slice(0, RECENT);
    const costs = new Map((model.versionCosts ?? []).map((c) => [c.version, c]));
    const hoursColumn = (model.versionCosts ?? []).some((c) => c.cpuHours !== undefined)
      ? 'CPU-HOURS'
      : 'GPU-HOURS';
    const costColumns = (version: number): string[] => {
      const c = costs.get(version);
      return [c?.amount ? money(c.amount) : '-', String(c?.cpuHours ?? c?.gpuHours ?? '-')];
    };
    const withCosts = costs.size > 0;
    return [
      '',
      style.bold('Aliases:'),
      indent(aliases || '(none)'),
      '',
      style.bold(`Versions (${m.versions.length}):`),
      indent(
        recent.length === 0
          ? '(none)'
          : renderColumns(
              [
                'VERSION',
                'RUN',
                'SPEC',
                'DATA',
                'COMMIT',
                'CREATED',
                ...(withCosts ? ['COST', hoursColumn] : []),
                'METRICS',
              ],
              recent.map((v) => [
                `v${v.version}`,
                runRef(v.run),
                v.specHash.slice(0, 12),
                v.dataSha256?.slice(0, 12) ?? '-',
                v.gitCommit?.slice(0, 10) ?? '-',
                shortTime(v.createdAt),
                ...(withCosts ? costColumns(v.version) : []),
                metricsText(v.metrics),
              ]),
            ),
      ),
      ...(withCosts
        ? [
            indent(
              style.dim(
                `COST: the run behind the version, USD at list prices of ${PRICES_AS_OF} (describe the run for how)`,
              ),
            ),
          ]
        : []),
    ];
  }
  if (model.endpoint) {
    const e = model.endpoint;
    return [
      '',
      style.bold('Endpoint:'),
      indent(
        [
          field('URL', t(e.url ?? '(none)')),
          field('Model', t(e.model)),
          field('Serving', e.healthy ? 'answering' : `not answering: ${t(e.healthDetail ?? 'unknown')}`),
        ].join('\n'),
      ),
      '',
      style.bold('Traffic:'),
      indent(
        e.traffic.length === 0
          ? '(none)'
          : renderColumns(
              ['VERSION', 'PERCENT'],
              e.traffic.map((t) => [`v${t.version}`, `${t.percent}%`]),
            ),
      ),
      ...(e.monitoring
        ? ['', style.bold('Monitoring:'), indent(monitoringLines(e.monitoring, style).join('\n'))]
        : []),
    ];
  }
  if (model.schedule) {
    const s = model.schedule;
    return [
      '',
      style.bold('Schedule:'),
      indent(
        [
          field('Template', `trainingrun/${t(s.spec.trainingRun)}`),
          s.once !== undefined
            ? field('Once', t(s.once.text))
            : field(
                'Cron',
                signalOnly(s.spec)
                  ? '(none: fires on a signal only)'
                  : t(`${s.spec.cron ?? '?'} (${s.spec.timeZone})`),
              ),
          ...(s.spec.triggers
            ? [
                field('Triggers', s.spec.triggers.map((tr) => t(triggerText(tr))).join('; ')),
                field('Cooldown', t(s.spec.cooldown ?? DEFAULT_TRIGGER_COOLDOWN)),
                field(
                  'Triggered',
                  s.lastTriggered
                    ? `${t(s.lastTriggered.run)} at ${inZone(s.lastTriggered.at, s.spec.timeZone)}: ${t(s.lastTriggered.reason)}`
                    : 'never',
                ),
              ]
            : []),
          field('Policy', t(s.spec.concurrencyPolicy)),
          // A one-off is paused past its instant by design (done, missed, or gcp's no late fire): not suspended.
          field(
            'Suspended',
            s.spec.suspend || (s.paused && (s.once === undefined || s.once.state === 'pending'))
              ? 'yes'
              : 'no',
          ),
          field('Last fire', s.lastFireTime ? inZone(s.lastFireTime, s.spec.timeZone) : 'never'),
          field('Next fire', s.nextFireTime ? inZone(s.nextFireTime, s.spec.timeZone) : 'never'),
        ].join('\n'),
      ),
      '',
      style.bold('Scheduled runs:'),
      indent(runsTable(s.runs, undefined)),
    ];
  }
  return [];
}

/** Managed TensorBoard pages (gcp with `gcp.tensorboard`) of the recent runs that have one. */
function tensorboardSection(runs: readonly ObservedRun[], style: Style): string[] {
  const pages = runs.slice(0, RECENT).filter((r) => r.tensorboardUrl !== undefined);
  if (pages.length === 0) return [];
  return [
    '',
    style.bold('TensorBoard:'),
    indent(
      renderColumns(
        ['RUN', 'PAGE'],
        pages.map((r) => [`#${r.number}`, r.tensorboardUrl ?? '']),
      ),
    ),
  ];
}

function runsTable(runs: readonly ObservedRun[], currentHash: string | undefined): string {
  if (runs.length === 0) return '(none)';
  const recent = runs.slice(0, RECENT);
  const table = renderColumns(
    ['RUN', 'STATE', 'ATTEMPT', 'SPEC', 'SCHEDULE', 'CREATED', 'FINISHED', 'METRICS'],
    recent.map((r) => [
      `#${r.number}`,
      r.state,
      String(r.attempt),
      // An asterisk marks runs of the spec in the manifests now.
      `${r.specHash.slice(0, 12)}${currentHash !== undefined && r.specHash === currentHash ? '*' : ''}`,
      r.schedule ?? '-',
      shortTime(r.createdAt),
      r.finishedAt ? shortTime(r.finishedAt) : '-',
      r.error
        ? `error: ${r.error}`
        : r.progress && !r.finishedAt
          ? progressText(r)
          : metricsText(r.metrics ?? {}),
    ]),
  );
  const more = runs.length > RECENT ? `\n(${runs.length - RECENT} older runs not shown)` : '';
  const legend = currentHash !== undefined ? '\n* the spec in the manifests' : '';
  // Why a run a Schedule trigger fired exists: its reason, one line per run.
  const why = recent.flatMap((r) => {
    const reason = triggerReasonOf(r);
    return reason === undefined ? [] : [`\n#${r.number} fired by trigger: ${t(reason)}`];
  });
  return `${table}${more}${legend}${why.join('')}`;
}

/** `{secretRef: {name, key}}` as one line, `secretRef(name/key)`, in the text view. */
function withSecretRefsShown(value: unknown): unknown {
  return mapJsonLeaves(
    value,
    (v) => v,
    (record) => {
      const ref = ownValue(record, 'secretRef');
      return Object.keys(record).length === 1 && ref !== null && typeof ref === 'object'
        ? formatSecretRef(ref as SecretRef)
        : undefined;
    },
  );
}

const progressText = (r: ObservedRun): string =>
  r.progress ? `epoch ${r.progress.epoch}/${r.progress.epochs}` : '';

const metricsText = (metrics: Record<string, number>): string =>
  Object.entries(metrics)
    .map(([k, v]) => `${k}=${formatMetric(v)}`)
    .join(' ') || '-';

/** `2025-06-02 06:00:12Z`: seconds matter when runs are minutes long. */
const shortTime = (iso: string): string => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

const inZone = (iso: string, timeZone: string): string => formatInZone(new Date(iso), timeZone);

const field = (label: string, value: string): string => `${`${label}:`.padEnd(12)}${value}`;

const indent = (text: string): string =>
  text
    .split('\n')
    .map((l) => (l === '' ? l : `  ${l}`))
    .join('\n');

/** `drift of deployedendpoint/mpg (threshold 0.3)`, `quality of deployedendpoint/mpg: mae > 4`. */
function triggerText(trigger: ScheduleTrigger): string {
  if ('drift' in trigger) {
    const { endpoint, threshold } = trigger.drift;
    return `drift of deployedendpoint/${endpoint}${threshold === undefined ? '' : ` (threshold ${threshold})`}`;
  }
  const { endpoint, metric, max, min } = trigger.quality;
  return `quality of deployedendpoint/${endpoint}: ${metric} ${max !== undefined ? `> ${max}` : `< ${min ?? '?'}`}`;
}
