/** Builders for engine tests: desired state from fixture trees, observed state by hand. */
import { join } from 'node:path';
import { loadManifests, type DesiredState } from '../../manifests/load.js';
import type { DeployedEndpoint, Schedule } from '../../resources/kinds.js';
import type {
  ObservedEndpoint,
  ObservedModel,
  ObservedRun,
  ObservedSchedule,
  ObservedState,
  ObservedVersion,
} from '../../providers/provider.js';
import { scheduleAppliedHash } from '../../controller/engine/plan-schedules.js';

export const FIXTURES = 'test/engine/fixtures';

/** Loads fixture trees (`core`, `runs`, ...) together; fails the test on any diagnostic. */
export async function loadTrees(...trees: string[]): Promise<DesiredState> {
  const { desired, diagnostics } = await loadManifests(trees.map((t) => join(FIXTURES, t)));
  if (diagnostics.length > 0) throw new Error(`fixture diagnostics: ${JSON.stringify(diagnostics, null, 2)}`);
  return desired;
}

export const NOW = new Date('2026-11-20T12:00:00Z');

export const empty = (): ObservedState => ({ runs: [], models: [], endpoints: [], schedules: [] });

export const hashOf = (desired: DesiredState, address: string): string => {
  const r = desired.resources.find((x) => x.address === address);
  if (!r) throw new Error(`no ${address} in the fixture`);
  return r.specHash;
};

export function run(partial: Partial<ObservedRun> & Pick<ObservedRun, 'number' | 'specHash'>): ObservedRun {
  const day = String(partial.number).padStart(2, '0');
  return {
    name: 'mpg-mlp',
    state: 'succeeded',
    attempt: 1,
    createdAt: `2026-11-${day}T10:00:00Z`,
    ...(partial.state === undefined || partial.state === 'succeeded'
      ? {
          finishedAt: `2026-11-${day}T11:00:00Z`,
          metrics: { val_mae: 3.0, val_loss: 0.1 },
          baseline: { val_mae: 6.0, val_loss: 1 },
          artifactUri: `/state/runs/${partial.name ?? 'mpg-mlp'}/${partial.number}`,
        }
      : {}),
    annotations: {},
    ...partial,
  };
}

export function version(
  n: number,
  partial: Partial<ObservedVersion> & { val_mae?: number; runNumber?: number } = {},
): ObservedVersion {
  const { val_mae = 3.0, runNumber = n, ...rest } = partial;
  return {
    version: n,
    run: { name: 'mpg-mlp', number: runNumber },
    specHash: 'old',
    artifactUri: `/state/runs/mpg-mlp/${runNumber}`,
    metrics: { val_mae },
    baseline: { val_mae: 6 },
    createdAt: `2026-11-${String(runNumber).padStart(2, '0')}T12:00:00Z`,
    ...rest,
  };
}

/** Everything of `desired` as if it had been applied, except runs and versions (given per test). */
export function converged(
  desired: DesiredState,
  parts: {
    runs?: ObservedRun[];
    versions?: Record<string, ObservedVersion[]>;
    aliases?: Record<string, Record<string, number>>;
    traffic?: Record<string, { version: number; percent: number }[]>;
  } = {},
): ObservedState {
  const observed = empty();
  observed.runs = parts.runs ?? [];
  const hashes = new Map(desired.resources.map((r) => [r.address, r.specHash]));
  for (const r of desired.resources) {
    const m = r.manifest;
    const annotations = { ...(m.metadata.annotations ?? {}) };
    if (m.kind === 'RegisteredModel') {
      const model: ObservedModel = {
        name: r.name,
        specHash: r.specHash,
        spec: m.spec,
        annotations,
        versions: parts.versions?.[r.name] ?? [],
        aliases: parts.aliases?.[r.name] ?? {},
      };
      observed.models.push(model);
    } else if (m.kind === 'DeployedEndpoint') {
      observed.endpoints.push(endpointOf(r.name, r.specHash, m, annotations, parts.traffic?.[r.name] ?? []));
    } else if (m.kind === 'Schedule') {
      observed.schedules.push(scheduleOf(r.name, m, annotations, hashes));
    }
  }
  return observed;
}

function endpointOf(
  name: string,
  specHash: string,
  m: DeployedEndpoint,
  annotations: Record<string, string>,
  traffic: { version: number; percent: number }[],
): ObservedEndpoint {
  const { scaling, resources, batching, timeoutSeconds } = m.spec;
  return {
    name,
    specHash,
    spec: m.spec,
    annotations,
    model: m.spec.model,
    traffic,
    url: `http://127.0.0.1:8501/v1/models/${name}`,
    healthy: true,
    live: { scaling, resources, batching, timeoutSeconds },
  };
}

function scheduleOf(
  name: string,
  m: Schedule,
  annotations: Record<string, string>,
  hashes: Map<string, string>,
): ObservedSchedule {
  const own = hashes.get(`Schedule/${name}`) ?? '';
  const template = hashes.get(`TrainingRun/${m.spec.trainingRun}`) ?? '';
  return {
    name,
    specHash: scheduleAppliedHash(own, template),
    spec: m.spec,
    annotations,
    paused: m.spec.suspend,
  };
}

// ---- Scenarios the plan views render (text, JSON and Markdown tests share them) ----------------

/** Converged: mpg-mlp#1 trained, v1 registered and champion, serving 100%. */
export async function servingV1(trees: string[] = ['core', 'runs', 'schedule']) {
  const desired = await loadTrees(...trees);
  const h = hashOf(desired, 'TrainingRun/mpg-mlp');
  const observed = converged(desired, {
    runs: [run({ number: 1, specHash: h })],
    versions: { mpg: [version(1, { specHash: h })] },
    aliases: { mpg: { champion: 1 } },
    traffic: { 'mpg-api': [{ version: 1, percent: 100 }] },
  });
  return { desired, observed, h };
}

/** The TrainingRun's spec changed (runs-v2) while mpg-mlp#2 of the old spec is running. */
export async function specChangeWhileRunning() {
  const before = await loadTrees('core', 'runs', 'schedule');
  const desired = await loadTrees('core', 'runs-v2', 'schedule');
  const old = hashOf(before, 'TrainingRun/mpg-mlp');
  const observed = converged(before, {
    runs: [
      run({ number: 1, specHash: old }),
      run({ number: 2, specHash: old, state: 'running', progress: { epoch: 7, epochs: 100 } }),
    ],
    versions: { mpg: [version(1, { specHash: old })] },
    aliases: { mpg: { champion: 1 } },
    traffic: { 'mpg-api': [{ version: 1, percent: 100 }] },
  });
  return { before, desired, observed, old };
}

/** A destroy where the model's manifest carries prevent-destroy and a training is running. */
export async function destroyWithProtectedModel() {
  const desired = await loadTrees('protected', 'core/endpoint.yaml', 'runs');
  const h = hashOf(desired, 'TrainingRun/mpg-mlp');
  const observed = converged(desired, {
    runs: [run({ number: 1, specHash: h, state: 'running', progress: { epoch: 3, epochs: 100 } })],
    traffic: { 'mpg-api': [] },
  });
  return { desired, observed };
}
