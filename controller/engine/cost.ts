/**
 * `estimateCost`: what the changes of a plan cost, from the price table (`cost-prices.ts`). Pure:
 * the plan's changes, the desired state, the observed runs and the table in, figures out; no I/O,
 * no clock (fires per month are counted in a fixed reference year).
 *
 * - a training the plan launches: its duration x the hourly price of its machine and GPUs. The
 *   duration is the median of the finished runs of the same TrainingRun, else
 *   `resources.expectedDuration`, else unknown (the hourly price is still shown). Fallback
 *   machines make a range.
 * - an endpoint (gcp, Cloud Run): the monthly floor, minInstances x (vCPU + GiB) x 730 h; on
 *   Vertex AI Endpoints, min replicas x (the node's + its GPUs' hourly price) x 730 h.
 * - a schedule: fires per month x the cost of a run of its template, plus the Scheduler job.
 * - local provider: CPU-hours of the training process, priced when `local.cpuHourPrice` is set.
 */
import { Cron } from 'croner';
import type { ObservedRun } from '../../providers/provider.js';
import { platformOf, type DeployedEndpointSpec } from '../../resources/deployed-endpoint.js';
import type { ProjectConfig } from '../../resources/project.js';
import { normalizeScheduleSpec, signalOnly, type ScheduleSpec } from '../../resources/schedule.js';
import { DEFAULT_TRIGGER_COOLDOWN } from '../../resources/monitoring.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { parseDuration } from '../../resources/training-run.js';
import type { Change } from './change.js';
import type { CostItem, CostRange, PlanCost } from './cost-schema.js';
import {
  CLOUD_RUN,
  CLOUD_RUN_TIER1,
  HOURS_PER_MONTH,
  PREDICTION_MACHINES,
  PRICES_AS_OF,
  REGION_FACTOR,
  SCHEDULER_JOB_MONTH,
  TRAINING_ACCELERATOR_PRICES,
  TRAINING_MACHINES,
} from './cost-prices.js';
import { formatDuration } from './duration.js';
import type { PlanContext } from './plan-context.js';

export function estimateCost(
  project: ProjectConfig | undefined,
  ctx: Pick<PlanContext, 'desired' | 'observed' | 'destroy'>,
  changes: readonly Change[],
): PlanCost {
  const provider = project?.provider ?? 'local';
  const rates = provider === 'gcp' ? gcpRates(project) : localRates(project);
  const items: CostItem[] = [];
  for (const c of changes) {
    if (c.kind !== 'TrainingRun' || (c.action !== 'create' && c.action !== 'replace')) continue;
    const run = runCost(c.after.spec, ctx.observed.runsByName.get(c.after.name) ?? [], rates);
    items.push({ address: c.resource, period: 'once', ...run });
  }
  if (!ctx.destroy) {
    if (rates.endpoint) {
      for (const e of ctx.desired.endpoints) {
        items.push({ address: e.address, period: 'month', ...rates.endpoint(e.manifest.spec) });
      }
    }
    const created = new Set(changes.filter((c) => c.action === 'create').map((c) => c.resource));
    // By name: a stack of a thousand schedules would otherwise scan the runs once per schedule.
    const templates = new Map(ctx.desired.runs.map((r) => [r.name, r]));
    for (const s of ctx.desired.schedules) {
      // A one-off schedule costs once, when this plan creates it; not again on every plan after.
      if (s.manifest.spec.at !== undefined && !created.has(s.address)) continue;
      const template = templates.get(s.manifest.spec.trainingRun);
      if (!template) continue;
      const run = runCost(template.manifest.spec, ctx.observed.runsByName.get(template.name) ?? [], rates);
      items.push({ address: s.address, ...scheduleCost(s.manifest.spec, run, rates.schedulerJob) });
    }
  }
  const sum = (period: CostItem['period']) =>
    items.reduce<CostRange>((t, i) => (i.period === period && i.amount ? add(t, i.amount) : t), {
      low: 0,
      high: 0,
    });
  return {
    currency: 'USD',
    pricesAsOf: PRICES_AS_OF,
    provider,
    items,
    total: { once: sum('once'), monthly: sum('month') },
    unknown: items.filter((i) => i.amount === null).length,
  };
}

type Estimate = Omit<CostItem, 'address' | 'period'>;

interface Rates {
  /** Price per hour of each machine a run may get (primary first), or why there is none. */
  training(spec: TrainingRunSpec): { hourly?: CostRange; gpus: number; note: string };
  endpoint?: (spec: EndpointSpec) => Estimate;
  schedulerJob: number;
  /** Local: CPU-hours stand for GPU-hours. */
  local: boolean;
}
type EndpointSpec = Pick<DeployedEndpointSpec, 'platform' | 'machine' | 'scaling' | 'resources'>;

function gcpRates(project: ProjectConfig | undefined): Rates {
  const region = project?.gcp?.region ?? 'us-central1';
  const trainingRegion = project?.gcp?.trainingRegion ?? region;
  const factor = REGION_FACTOR[trainingRegion] ?? 1;
  const tier = CLOUD_RUN_TIER1.includes(region) ? 'tier1' : 'tier2';
  const run = CLOUD_RUN[tier];
  return {
    local: false,
    schedulerJob: SCHEDULER_JOB_MONTH,
    training(spec) {
      const r = spec.resources;
      const options = [{ machineType: r.machineType, accelerator: r.accelerator }, ...(r.fallbacks ?? [])];
      const prices: number[] = [];
      const missing: string[] = [];
      for (const o of options) {
        // Own keys only: a machine type is manifest text (`constructor` is no machine).
        const machine = Object.hasOwn(TRAINING_MACHINES, o.machineType)
          ? TRAINING_MACHINES[o.machineType]
          : undefined;
        if (!machine) {
          missing.push(o.machineType);
          continue;
        }
        const gpu = o.accelerator ? TRAINING_ACCELERATOR_PRICES[o.accelerator.type] : undefined;
        const price = r.spot ? 'spot' : 'onDemand';
        prices.push((machine[price] + (o.accelerator?.count ?? 0) * (gpu?.[price] ?? 0)) * factor);
      }
      const note = [
        `${options.length > 1 ? `${options.length} machines` : r.machineType}${r.spot ? ' (Spot)' : ''} in ${trainingRegion}`,
        ...(REGION_FACTOR[trainingRegion] === undefined
          ? [`no prices for ${trainingRegion}: us-central1's`]
          : []),
        ...(missing.length > 0 ? [`no price for ${missing.join(', ')}`] : []),
      ].join('; ');
      return {
        hourly: prices.length > 0 ? { low: Math.min(...prices), high: Math.max(...prices) } : undefined,
        gpus: r.accelerator?.count ?? 0,
        note,
      };
    },
    endpoint(spec) {
      if (platformOf(spec) === 'vertexEndpoint') return vertexEndpointFloor(spec, region);
      const instances = spec.scaling?.minInstances ?? 0;
      const cpu = Number(spec.resources?.cpu ?? '1');
      const gib = memoryGiB(spec.resources?.memory ?? '512Mi');
      const hourly = (cpu * run.vcpuSecond + gib * run.gibSecond) * 3600;
      const month = round(instances * hourly * HOURS_PER_MONTH);
      return {
        amount: { low: month, high: month },
        detail: `floor: ${instances} min instance${instances === 1 ? '' : 's'} x (${cpu} vCPU + ${gib} GiB) x ${HOURS_PER_MONTH} h, Cloud Run ${tier.replace('tier', 'tier ')} (${region}); requests on top`,
      };
    },
  };
}

/** A Vertex AI Endpoint's monthly floor: min replicas x (node + GPUs) per hour x 730 h. */
function vertexEndpointFloor(spec: EndpointSpec, region: string): Estimate {
  const replicas = spec.scaling?.minInstances ?? 1;
  const machineType = spec.machine?.machineType ?? 'n1-standard-2';
  const acc = spec.machine?.accelerator;
  const node = PREDICTION_MACHINES[machineType] ?? TRAINING_MACHINES[machineType]?.onDemand;
  const gpu = acc ? TRAINING_ACCELERATOR_PRICES[acc.type]?.onDemand : 0;
  const factor = REGION_FACTOR[region] ?? 1;
  const what = `${replicas} min replica${replicas === 1 ? '' : 's'} x ${machineType}${acc ? ` + ${acc.count}x ${acc.type}` : ''}`;
  if (node === undefined || gpu === undefined) {
    return {
      amount: null,
      detail: `floor: ${what}: no price for ${node === undefined ? machineType : acc?.type}`,
    };
  }
  const hourly = round((node + (acc?.count ?? 0) * gpu) * factor);
  const month = round(replicas * hourly * HOURS_PER_MONTH);
  return {
    amount: { low: month, high: month },
    hourly: { low: hourly, high: hourly },
    detail: `floor: ${what} (${money({ low: hourly, high: hourly })}/h) x ${HOURS_PER_MONTH} h, Vertex AI prediction (${region}${REGION_FACTOR[region] === undefined ? ": no prices, us-central1's" : ''}); no scale to zero`,
  };
}

function localRates(project: ProjectConfig | undefined): Rates {
  const price = project?.local.cpuHourPrice;
  return {
    local: true,
    schedulerJob: 0,
    training: () => ({
      hourly: price === undefined ? undefined : { low: price, high: price },
      gpus: 0,
      note:
        price === undefined
          ? 'local: set local.cpuHourPrice to price CPU-hours'
          : `local at $${price}/CPU-hour`,
    }),
  };
}

/** One run of a TrainingRun spec: duration x hourly price. */
function runCost(spec: TrainingRunSpec, earlier: readonly ObservedRun[], rates: Rates): Estimate {
  const { hourly, gpus, note } = rates.training(spec);
  const duration = expectedHours(spec, earlier);
  const usage =
    duration === undefined
      ? {}
      : rates.local
        ? { hours: duration.hours, cpuHours: round(duration.hours) }
        : { hours: duration.hours, ...(gpus > 0 && { gpuHours: round(duration.hours * gpus) }) };
  const perHour = hourly ? `${money(hourly)}/h` : 'no price';
  if (duration === undefined) {
    return {
      amount: null,
      ...(hourly && { hourly }),
      detail: `duration unknown (no finished run, no resources.expectedDuration) at ${perHour}; ${note}`,
    };
  }
  const what = `${formatDuration(duration.hours * 3600)} (${duration.source}) x ${perHour}; ${note}`;
  return {
    amount: hourly ? scale(hourly, duration.hours) : null,
    ...(hourly && { hourly }),
    ...usage,
    detail: what,
  };
}

function scheduleCost(spec: ScheduleSpec, run: Estimate, jobMonth: number): Omit<CostItem, 'address'> {
  const cron = normalizeScheduleSpec(spec).cron;
  if (signalOnly(spec)) {
    const cooldown = spec.cooldown ?? DEFAULT_TRIGGER_COOLDOWN;
    return {
      period: 'once',
      ...run,
      detail: `per fire on a signal (at most one per ${cooldown}): ${run.detail}`,
    };
  }
  if (spec.at !== undefined || cron === undefined) {
    return { period: 'once', ...run, detail: `fires once: ${run.detail}` };
  }
  const fires = spec.suspend ? 0 : firesPerMonth(cron);
  const amount = run.amount ? add(scale(run.amount, fires), { low: jobMonth, high: jobMonth }) : null;
  const job = jobMonth > 0 ? ` + ${money({ low: jobMonth, high: jobMonth })} Scheduler job` : '';
  return {
    period: 'month',
    amount,
    ...(run.hourly && { hourly: run.hourly }),
    ...(run.hours !== undefined && { hours: round(run.hours * fires) }),
    ...(run.gpuHours !== undefined && { gpuHours: round(run.gpuHours * fires) }),
    ...(run.cpuHours !== undefined && { cpuHours: round(run.cpuHours * fires) }),
    detail: `${round(fires, 2)} fires/month${spec.suspend ? ' (suspended)' : ''} x run${job}; run: ${run.detail}`,
  };
}

/** The median duration of the finished runs of this name, or the spec's expectation. */
function expectedHours(
  spec: TrainingRunSpec,
  earlier: readonly ObservedRun[],
): { hours: number; source: string } | undefined {
  const seconds = earlier
    .filter((r) => r.state === 'succeeded' && r.finishedAt !== undefined)
    .map((r) => (Date.parse(r.finishedAt ?? '') - Date.parse(r.createdAt)) / 1000)
    .filter((s) => Number.isFinite(s) && s >= 0)
    .sort((a, b) => a - b);
  if (seconds.length > 0) {
    const mid = Math.floor(seconds.length / 2);
    const median = seconds.length % 2 === 1 ? seconds[mid] : (seconds[mid - 1] + seconds[mid]) / 2;
    return {
      hours: median / 3600,
      source: `median of ${seconds.length} run${seconds.length === 1 ? '' : 's'}`,
    };
  }
  const expected = spec.resources.expectedDuration;
  return expected === undefined
    ? undefined
    : { hours: parseDuration(expected) / 3600, source: 'expectedDuration' };
}

/**
 * Fires in an average month (730 h). The five fields are independent (minute x hour x day, the
 * day of month and of week combining within the day level), so each level is counted on its own:
 * minutes in an hour, hours in a day, days over reference weeks (one week when no day of the
 * month or month is named, as the cron then repeats weekly; else 52). A few hundred steps at most,
 * and weekly is 730/168 and daily 730/24 whatever weekday they name. The zone does not change
 * the count (but on DST days), so none is needed; cached: a large stack repeats its crons.
 */
export function firesPerMonth(cron: string): number {
  const known = firesCache.get(cron);
  if (known !== undefined) return known;
  const [minute, hour, dayOfMonth, month, dayOfWeek] = cron.trim().split(/\s+/);
  const weeks = dayOfMonth === '*' && month === '*' ? 1 : 52;
  const HOUR = 3600_000;
  const minutes = firesIn(`${minute} 0 * * *`, HOUR);
  const hours = firesIn(`0 ${hour} * * *`, 24 * HOUR);
  const days = firesIn(`0 0 ${dayOfMonth} ${month} ${dayOfWeek}`, weeks * 7 * 24 * HOUR);
  const fires = (minutes * hours * days * HOURS_PER_MONTH) / (weeks * 168);
  if (firesCache.size > 1000) firesCache.clear();
  firesCache.set(cron, fires);
  return fires;
}
const firesCache = new Map<string, number>();

const FIRES_START = Date.UTC(2025, 0, 6);

/**
 * Fires of a one-level pattern in a window from a reference Monday, cached by level: a stack's
 * crons differ mostly in one field (60 minute values at the same hour and day share two of their
 * three counts). UTC as a fixed offset, which croner searches ~100 times faster than a zone name.
 */
function firesIn(pattern: string, windowMs: number): number {
  const key = `${pattern}|${windowMs}`;
  const known = levelCache.get(key);
  if (known !== undefined) return known;
  const job = new Cron(pattern, { utcOffset: 0, paused: true });
  let n = 0;
  for (
    let at = job.nextRun(new Date(FIRES_START - 1));
    at && at.getTime() < FIRES_START + windowMs;
    at = job.nextRun(at)
  ) {
    n++;
  }
  if (levelCache.size > 1000) levelCache.clear();
  levelCache.set(key, n);
  return n;
}
const levelCache = new Map<string, number>();

const memoryGiB = (memory: string): number =>
  memory.endsWith('Gi') ? Number.parseFloat(memory) : Number.parseFloat(memory) / 1024;
const round = (n: number, digits = 4): number => Math.round(n * 10 ** digits) / 10 ** digits;
const scale = (r: CostRange, by: number): CostRange => ({ low: round(r.low * by), high: round(r.high * by) });
const add = (a: CostRange, b: CostRange): CostRange => ({
  low: round(a.low + b.low),
  high: round(a.high + b.high),
});

/** `$3.59` or `$3.59-$7.20`; cents below a dollar cent keep four decimals. */
export function money(r: CostRange): string {
  const one = (n: number) => `$${n !== 0 && Math.abs(n) < 0.01 ? n.toFixed(4) : n.toFixed(2)}`;
  return one(r.low) === one(r.high) ? one(r.low) : `${one(r.low)}-${one(r.high)}`;
}

/** What a finished run cost: its duration x the price of its spec's machines (a range with fallbacks). */
export interface RunCost {
  run: number;
  hours: number;
  /** USD; null where nothing prices it (locally without `local.cpuHourPrice`, a machine not in the table). */
  amount: CostRange | null;
  gpuHours?: number;
  cpuHours?: number;
  detail: string;
}

/**
 * The actual cost of one finished run (succeeded or failed: both were billed), priced with `spec`,
 * the spec it ran (the caller decides which one it trusts). Undefined while it has not finished.
 */
export function finishedRunCost(
  project: ProjectConfig,
  run: Pick<ObservedRun, 'number' | 'createdAt' | 'finishedAt'>,
  spec: TrainingRunSpec,
): RunCost | undefined {
  if (run.finishedAt === undefined) return undefined;
  const hours = (Date.parse(run.finishedAt) - Date.parse(run.createdAt)) / 3_600_000;
  if (!Number.isFinite(hours) || hours < 0) return undefined;
  const rates = project.provider === 'gcp' ? gcpRates(project) : localRates(project);
  const { hourly, gpus, note } = rates.training(spec);
  return {
    run: run.number,
    hours: round(hours),
    amount: hourly ? scale(hourly, hours) : null,
    ...(rates.local ? { cpuHours: round(hours) } : gpus > 0 ? { gpuHours: round(hours * gpus) } : {}),
    detail: `${formatDuration(hours * 3600)} x ${hourly ? `${money(hourly)}/h` : 'no price'}; ${note}`,
  };
}

/**
 * The actual cost of the finished runs of a spec, for `describe`; runs of other specs are left out
 * (their machines are not known any more). Empty where nothing is priced: locally until
 * `local.cpuHourPrice` is set.
 */
export function finishedRunCosts(
  project: ProjectConfig | undefined,
  spec: TrainingRunSpec,
  specHash: string,
  runs: readonly ObservedRun[],
): RunCost[] {
  if (!project || (project.provider === 'local' && project.local.cpuHourPrice === undefined)) return [];
  return runs.flatMap((r) => {
    const cost = r.specHash === specHash ? finishedRunCost(project, r, spec) : undefined;
    return cost ? [cost] : [];
  });
}
