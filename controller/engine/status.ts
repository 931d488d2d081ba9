/**
 * Per-resource status in Argo CD's vocabulary, for `get` and `describe`: sync (does the plan have
 * something to do for it?) and health (is what exists working?). Pure: the same desired state,
 * observed state, plan and clock give the same statuses; rendering lives in controller/ui/.
 */
import { ownValue } from '../../resources/own-property.js';
import type { DesiredState, LoadedResource } from '../../manifests/load.js';
import { addressOf } from '../../resources/address.js';
import { KINDS, type Kind } from '../../resources/kinds.js';
import { nextFireTime, signalOnly } from '../../resources/schedule.js';
import {
  ACTIVE_RUN_STATES,
  type ObservedEndpoint,
  type ObservedModel,
  type ObservedRun,
  type ObservedSchedule,
  type ObservedState,
} from '../../providers/provider.js';
import { worstFirst } from '../../monitoring/drift.js';
import type { MonitoringStatus } from '../../monitoring/status.js';
import { formatDuration } from './duration.js';
import { lastFireOf, onceStatus } from './once-schedule.js';
import { formatInZone } from './zoned-time.js';

// Callers read fire times through the status module, as before the move.
export { formatInZone };
import { isActionable, type Change, type Plan } from './change.js';

export type SyncStatus = 'Synced' | 'OutOfSync' | 'Unknown';
export type HealthStatus = 'Healthy' | 'Progressing' | 'Degraded' | 'Missing' | 'Suspended';

/** Kubernetes-style condition: a named boolean with a machine reason and a human message. */
export interface Condition {
  type: 'Synced' | 'Healthy';
  status: boolean;
  reason: string;
  message: string;
}

/** A change of the plan, reduced to what a status display needs. */
export interface PendingChange {
  address: string;
  action: Change['action'];
  reason: string;
}

export interface ResourceStatus {
  kind: Kind;
  name: string;
  address: string;
  sync: SyncStatus;
  health: HealthStatus;
  /** One line: what matters for this kind (run and metric, versions and aliases, URL and traffic, next fire). */
  details: string;
  /** Declared in the manifests that were loaded. */
  declared: boolean;
  /** Exists in the actual state. */
  exists: boolean;
  conditions: Condition[];
  /** The plan's changes for this resource that apply would act on. */
  changes: PendingChange[];
  /** A monitored endpoint's drift and live quality as observed (`get -o json`, the health's reason). */
  monitoring?: MonitoringStatus;
}

export interface StatusOptions {
  /** The clock for next fire times (tests pass a fixed one). */
  now?: Date;
}

/** Metrics worth one glance, in order of preference, when the model's gate names none. */
const KEY_METRICS = ['val_mae', 'val_accuracy', 'val_rmse', 'val_loss', 'mae', 'accuracy', 'loss'];

export function resourceStatus(
  desired: Pick<DesiredState, 'resources'>,
  observed: ObservedState,
  plan: Pick<Plan, 'changes' | 'diagnostics'> | undefined,
  options: StatusOptions = {},
): ResourceStatus[] {
  const now = options.now ?? new Date();
  const declared = new Map(desired.resources.map((r) => [r.address, r]));
  const addresses = new Set<string>(declared.keys());
  for (const run of observed.runs) addresses.add(addressOf('TrainingRun', run.name));
  for (const model of observed.models) addresses.add(addressOf('RegisteredModel', model.name));
  for (const endpoint of observed.endpoints) addresses.add(addressOf('DeployedEndpoint', endpoint.name));
  for (const schedule of observed.schedules) addresses.add(addressOf('Schedule', schedule.name));

  const statuses = [...addresses].map((address) => {
    const [kindText, name] = splitAddress(address);
    const kind = kindText as Kind;
    const resource = declared.get(address);
    const health = healthOf(kind, name, resource, desired, observed, plan, now);
    const changes = (plan?.changes ?? [])
      .filter((c) => c.resource === address && isActionable(c))
      .map((c) => ({ address: c.address, action: c.action, reason: c.reason }));
    const errors = (plan?.diagnostics ?? []).filter((d) => d.severity === 'error' && d.address === address);
    const sync: SyncStatus =
      plan === undefined || errors.length > 0 ? 'Unknown' : changes.length > 0 ? 'OutOfSync' : 'Synced';
    const syncCondition: Condition =
      sync === 'Synced'
        ? { type: 'Synced', status: true, reason: 'NoChanges', message: 'the plan has nothing to do' }
        : sync === 'OutOfSync'
          ? {
              type: 'Synced',
              status: false,
              reason: 'ChangesPending',
              message: changes.map((c) => `${c.action}: ${c.reason}`).join('; '),
            }
          : {
              type: 'Synced',
              status: false,
              reason: 'PlanError',
              message: errors.map((d) => d.message).join('; ') || 'no plan',
            };
    const status: ResourceStatus = {
      kind,
      name,
      address,
      sync,
      health: health.health,
      details: health.details,
      declared: resource !== undefined,
      exists: health.exists,
      conditions: [
        syncCondition,
        {
          type: 'Healthy',
          status: health.health === 'Healthy',
          reason: health.health,
          message: health.details,
        },
      ],
      changes,
    };
    const monitoring =
      kind === 'DeployedEndpoint' ? observed.endpoints.find((e) => e.name === name)?.monitoring : undefined;
    if (monitoring) status.monitoring = monitoring;
    return status;
  });
  return statuses.sort(
    (a, b) => KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind) || a.name.localeCompare(b.name),
  );
}

interface Health {
  health: HealthStatus;
  details: string;
  exists: boolean;
}

function splitAddress(address: string): [string, string] {
  const slash = address.indexOf('/');
  return [address.slice(0, slash), address.slice(slash + 1)];
}

function healthOf(
  kind: Kind,
  name: string,
  resource: LoadedResource | undefined,
  desired: Pick<DesiredState, 'resources'>,
  observed: ObservedState,
  plan: Pick<Plan, 'changes'> | undefined,
  now: Date,
): Health {
  switch (kind) {
    case 'TrainingRun':
      return runHealth(name, resource, desired, observed);
    case 'RegisteredModel':
      return modelHealth(observed.models.find((m) => m.name === name));
    case 'DeployedEndpoint': {
      const waiting = (plan?.changes ?? []).some(
        (c) => c.resource === addressOf(kind, name) && c.action === 'wait',
      );
      return endpointHealth(
        observed.endpoints.find((e) => e.name === name),
        waiting,
      );
    }
    case 'Schedule':
      return scheduleHealth(
        observed.schedules.find((s) => s.name === name),
        resource,
        observed.runs,
        now,
      );
  }
}

/** The runs of a name, newest first. */
export const runsNamed = (observed: ObservedState, name: string): ObservedRun[] =>
  observed.runs.filter((r) => r.name === name).sort((a, b) => b.number - a.number);

/**
 * Health is about the current spec: an older spec's success does not make a changed manifest
 * healthy. Without a manifest (history only), the newest run speaks for the name.
 */
function runHealth(
  name: string,
  resource: LoadedResource | undefined,
  desired: Pick<DesiredState, 'resources'>,
  observed: ObservedState,
): Health {
  const all = runsNamed(observed, name);
  const current = resource ? all.filter((r) => r.specHash === resource.specHash) : all;
  const latest = current[0];
  if (!latest) {
    const older = all[0];
    return {
      health: 'Missing',
      details: older
        ? `no run of the current spec (latest ${runLabel(older)} ${older.state}, older spec)`
        : 'no run yet',
      exists: all.length > 0,
    };
  }
  const label = runLabel(latest);
  if (ACTIVE_RUN_STATES.includes(latest.state)) {
    const p = latest.progress;
    const progress = p
      ? ` epoch ${p.epoch}/${p.epochs}${p.trial ? ` trial ${p.trial.done}/${p.trial.of}` : ''}${
          p.etaSeconds !== undefined ? ` eta ${formatDuration(p.etaSeconds)}` : ''
        }`
      : '';
    return { health: 'Progressing', details: `${label} ${latest.state}${progress}`, exists: true };
  }
  if (latest.state === 'succeeded') {
    const metric = keyMetric(latest.metrics ?? {}, gateMetric(resource, desired));
    return {
      health: 'Healthy',
      details: `${label} succeeded${metric ? ` ${metric}` : ''}`,
      exists: true,
    };
  }
  return {
    health: 'Degraded',
    details: `${label} ${latest.state}${latest.error ? `: ${latest.error}` : ''}`,
    exists: true,
  };
}

const runLabel = (run: ObservedRun): string =>
  `run #${run.number}${run.schedule ? ` (schedule ${run.schedule})` : ''}`;

/** The metric the run's model gates on is the one its owners look at. */
function gateMetric(
  resource: LoadedResource | undefined,
  desired: Pick<DesiredState, 'resources'>,
): string | undefined {
  if (resource?.manifest.kind !== 'TrainingRun') return undefined;
  const modelName = resource.manifest.spec.model;
  const model = desired.resources.find(
    (r) => r.manifest.kind === 'RegisteredModel' && r.name === modelName,
  )?.manifest;
  return model?.kind === 'RegisteredModel' ? model.spec.gate?.metric : undefined;
}

function keyMetric(metrics: Record<string, number>, preferred: string | undefined): string | undefined {
  const names = [...(preferred ? [preferred] : []), ...KEY_METRICS, ...Object.keys(metrics)];
  const key = names.find((n) => ownValue(metrics, n) !== undefined);
  return key === undefined ? undefined : `${key} ${formatMetric(metrics[key])}`;
}

/** Three significant digits: enough to compare runs at a glance. */
export const formatMetric = (value: number): string =>
  Number.isFinite(value) ? String(Number(value.toPrecision(3))) : String(value);

function modelHealth(model: ObservedModel | undefined): Health {
  if (!model) return { health: 'Missing', details: 'not in the registry', exists: false };
  const n = model.versions.length;
  const aliases = Object.entries(model.aliases)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([alias, version]) => `${alias}=v${version}`)
    .join(', ');
  const versions = n === 0 ? 'no versions yet' : `${n} version${n === 1 ? '' : 's'}`;
  return { health: 'Healthy', details: aliases ? `${versions}; ${aliases}` : versions, exists: true };
}

function endpointHealth(endpoint: ObservedEndpoint | undefined, waiting: boolean): Health {
  if (!endpoint) return { health: 'Missing', details: 'not deployed', exists: false };
  const traffic = endpoint.traffic.map((t) => `v${t.version} ${t.percent}%`).join(', ');
  const where = [endpoint.url ?? '(no url)', traffic].filter(Boolean).join(' ');
  if (!endpoint.healthy) {
    return {
      health: 'Degraded',
      details: `${where}; ${endpoint.healthDetail ?? 'not answering'}`,
      exists: true,
    };
  }
  // Healthy but still waiting for versions its traffic names (trainings in flight).
  if (waiting) return { health: 'Progressing', details: `${where}; waiting for versions`, exists: true };
  const monitoring = endpoint.monitoring && monitoringDetails(endpoint.monitoring);
  if (monitoring?.degraded)
    return { health: 'Degraded', details: `${where}; ${monitoring.text}`, exists: true };
  return { health: 'Healthy', details: monitoring ? `${where}; ${monitoring.text}` : where, exists: true };
}

/**
 * One line about an endpoint's drift and live quality: the drifted features with their scores
 * (`drift: Horsepower psi 0.41 > 0.2, ...`) and a quality past its bound make it Degraded.
 * Observed state only: nothing here plans an action (Schedule triggers do, on their own terms).
 */
export function monitoringDetails(m: MonitoringStatus): { degraded: boolean; text: string } {
  const parts: string[] = [];
  if (m.drift === 'drifted') {
    const drifted = worstFirst(m.features.filter((f) => f.drifted)).map(
      (f) => `${f.name} ${f.metric} ${formatMetric(f.score)} > ${formatMetric(f.threshold)}`,
    );
    parts.push(`drift: ${drifted.join(', ')}`);
  } else if (m.drift === 'ok') parts.push('drift ok');
  else parts.push(`drift unknown${m.detail ? ` (${m.detail})` : ''}`);
  const q = m.quality;
  if (q) {
    const vs = q.validation !== undefined ? ` (validation ${formatMetric(q.validation)})` : '';
    parts.push(`${q.degraded ? 'quality degraded: ' : ''}live ${q.metric} ${formatMetric(q.value)}${vs}`);
  }
  return { degraded: m.drift === 'drifted' || q?.degraded === true, text: parts.join('; ') };
}

function scheduleHealth(
  schedule: ObservedSchedule | undefined,
  resource: LoadedResource | undefined,
  runs: readonly ObservedRun[],
  now: Date,
): Health {
  const spec =
    schedule?.spec ?? (resource?.manifest.kind === 'Schedule' ? resource.manifest.spec : undefined);
  const once = spec && onceStatus(spec, lastFireOf(schedule, runs), now);
  const when = once ? once.text : spec ? `cron "${spec.cron ?? '?'}" ${spec.timeZone}` : '';
  if (!schedule) return { health: 'Missing', details: `${when}; not created`.trim(), exists: false };
  // Fired (or past its deadline): finished, not waiting for anything, whether paused yet or not.
  if (once?.state === 'done') return { health: 'Healthy', details: when, exists: true };
  if (once?.state === 'missed') return { health: 'Degraded', details: when, exists: true };
  if (once) {
    // Paused past its instant is the provider's doing (gcp fires nothing late), not a suspension.
    const suspended = schedule.spec.suspend || (schedule.paused && once.state === 'pending');
    return {
      health: suspended ? 'Suspended' : 'Healthy',
      details: suspended ? `${when}; suspended` : when,
      exists: true,
    };
  }
  if (signalOnly(schedule.spec)) {
    // Its job is paused by design where a backend fires on time (gcp): only `suspend` suspends it.
    const text = 'fires on a signal only';
    return schedule.spec.suspend
      ? { health: 'Suspended', details: `${text}; suspended`, exists: true }
      : { health: 'Healthy', details: text, exists: true };
  }
  if (schedule.spec.suspend || schedule.paused) {
    return { health: 'Suspended', details: `${when}; suspended`, exists: true };
  }
  const next = nextFireTime(schedule.spec, now);
  return {
    health: 'Healthy',
    details: `${when}; next ${next ? formatInZone(next, schedule.spec.timeZone) : 'never'}`,
    exists: true,
  };
}
