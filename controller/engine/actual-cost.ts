/**
 * What finished runs and model versions actually cost, for `get` and `describe` (the plan's
 * estimate is `cost.ts`). A run is priced with the spec it ran: the manifest's when the spec hash
 * matches, else the copy the provider kept at create (`ObservedRun.spec`), checked first because
 * it comes back from the cloud or the state directory. Without either the run is not priced.
 */
import { Value } from '@sinclair/typebox/value';
import type { LoadedResource } from '../../manifests/load.js';
import type { ObservedModel, ObservedRun } from '../../providers/provider.js';
import type { ProjectConfig } from '../../resources/project.js';
import { ResourcesSchema, type TrainingRunSpec } from '../../resources/training-run.js';
import { finishedRunCost, type RunCost } from './cost.js';

/** The spec a run ran, as far as it can be trusted for pricing. */
export function pricedSpecOf(
  run: Pick<ObservedRun, 'specHash' | 'spec'>,
  manifest: LoadedResource | undefined,
): TrainingRunSpec | undefined {
  if (manifest?.manifest.kind === 'TrainingRun' && manifest.specHash === run.specHash) {
    return manifest.manifest.spec;
  }
  const resources: unknown = run.spec?.resources;
  if (resources === null || typeof resources !== 'object') return undefined;
  // Defaults first: a spec kept before normalisation may leave `spot` out.
  const filled = Value.Default(ResourcesSchema, structuredClone(resources));
  return run.spec && Value.Check(ResourcesSchema, filled) ? { ...run.spec, resources: filled } : undefined;
}

/** The cost of one run, or undefined (not finished, spec unknown, no project). */
export function runCostOf(
  project: ProjectConfig | undefined,
  run: ObservedRun,
  manifest: LoadedResource | undefined,
): RunCost | undefined {
  const spec = project ? pricedSpecOf(run, manifest) : undefined;
  return project && spec ? finishedRunCost(project, run, spec) : undefined;
}

/**
 * `get`'s COST: the newest finished run of a TrainingRun, of the spec in the manifests when it is
 * declared (the run DETAILS speaks of), else of any spec. `runs` newest first.
 */
export function latestRunCost(
  project: ProjectConfig | undefined,
  runs: readonly ObservedRun[],
  manifest: LoadedResource | undefined,
): RunCost | undefined {
  const current = manifest ? runs.filter((r) => r.specHash === manifest.specHash) : runs;
  const finished = current.find((r) => r.finishedAt !== undefined);
  return finished && runCostOf(project, finished, manifest);
}

/** The cost of the run that produced a version, with the version number. */
export type VersionCost = RunCost & { version: number };

/**
 * What each version of a model cost to train: the run it was registered from, priced with that
 * run's spec. Versions whose run is gone (history retention) or unpriced are left out.
 */
export function versionCosts(
  project: ProjectConfig | undefined,
  model: Pick<ObservedModel, 'versions'>,
  runs: readonly ObservedRun[],
  manifests: readonly LoadedResource[],
): VersionCost[] {
  if (!project) return [];
  const byRun = new Map(runs.map((r) => [`${r.name}#${r.number}`, r]));
  const byName = new Map(manifests.filter((m) => m.kind === 'TrainingRun').map((m) => [m.name, m]));
  return model.versions.flatMap((v) => {
    const run = byRun.get(`${v.run.name}#${v.run.number}`);
    const cost = run && runCostOf(project, run, byName.get(run.name));
    return cost ? [{ version: v.version, ...cost }] : [];
  });
}
