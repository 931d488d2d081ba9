/**
 * Defence in depth at execution: whatever plan a change came from (a fresh one, a saved file, a
 * later pass), apply refuses to carry out a change that the plan's own rules forbid. A bug in the
 * planner, or a saved plan that slipped past its checks, must still not register a version that
 * fails its gate, delete or cancel what has `mlform/prevent-destroy`, act on an object of another
 * stack, or serve an artifact that is not the registry's for that version. Each rule is checked
 * against the manifests and the state the provider reports, never against the change's own claims.
 */
import type { DesiredState, LoadedResource } from '../../manifests/load.js';
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import type { AnyManifest, Kind } from '../../resources/kinds.js';
import { PREVENT_DESTROY_ANNOTATION } from '../../resources/metadata.js';
import type { ObservedEndpoint, ObservedModel, ObservedState } from '../../providers/provider.js';
import { aliasTarget } from './aliases.js';
import type { AliasRule, Change } from './change.js';
import { evaluateGate } from './gate.js';

export interface GuardFacts {
  desired: DesiredState;
  /** The state observed before this pass of apply (this stack's objects only). */
  state: ObservedState;
  /** The registry as listed just before the change (registrations of this pass included). */
  registry: () => Promise<ObservedModel[]>;
  /** Live endpoints as listed just before the change (updates of this pass included). */
  endpoints: () => Promise<ObservedEndpoint[]>;
  destroy: boolean;
}

/** Errors for a change that must not be carried out; empty when it may. */
export async function guardChange(change: Change, facts: GuardFacts): Promise<Diagnostic[]> {
  const refuse = (code: string, message: string): Diagnostic[] => [
    error(code, `refused to ${change.action} ${change.address}: ${message}`, {
      address: change.resource,
      hint: 'this change breaks a rule of the plan; plan again and report the plan that produced it',
    }),
  ];
  const desired = (kind: Kind, name: string) => desiredResource(facts.desired, kind, name);
  const wanted = (kind: Kind, name: string) => (facts.destroy ? undefined : desired(kind, name));
  const protectedBy = (kind: Kind, name: string, observed?: Record<string, string>) =>
    observed?.[PREVENT_DESTROY_ANNOTATION] === 'true' ||
    desired(kind, name)?.manifest.metadata.annotations?.[PREVENT_DESTROY_ANNOTATION] === 'true';

  switch (change.action) {
    case 'create':
    case 'replace':
    case 'update': {
      const after = change.after;
      const resource = wanted(change.kind, after.name);
      if (!resource)
        return refuse('not-in-manifests', `no manifest of this stack declares ${change.kind}/${after.name}`);
      if (resource.specHash !== after.specHash && change.kind !== 'Schedule')
        return refuse('spec-mismatch', `its spec is not the manifest's (spec hash ${after.specHash})`);
      if (change.kind === 'TrainingRun') {
        if (change.after.manifestPath !== resource.source.path)
          return refuse('manifest-path-mismatch', `its manifest path is not ${resource.source.path}`);
        if (change.action === 'replace') {
          for (const run of change.before.cancel) {
            const observed = facts.state.runs.find((r) => r.name === run.name && r.number === run.number);
            if (protectedBy('TrainingRun', run.name, observed?.annotations))
              return refuse('prevent-destroy', `${run.name}#${run.number} has ${PREVENT_DESTROY_ANNOTATION}`);
          }
        }
      }
      if (change.kind === 'Schedule') {
        const template = wanted('TrainingRun', change.after.template.name);
        if (!template || template.source.path !== change.after.template.manifestPath)
          return refuse(
            'manifest-path-mismatch',
            `its template is not the manifest of TrainingRun/${change.after.template.name}`,
          );
      }
      if (change.kind === 'DeployedEndpoint') {
        const model = endpointModel(resource.manifest);
        if (change.after.model !== model)
          return refuse('not-in-manifests', `its manifest serves model ${model}`);
        const versions = (await facts.registry()).find((m) => m.name === model)?.versions ?? [];
        for (const t of change.after.traffic) {
          if (t.version === null || t.artifactUri === null) continue;
          const registered = versions.find((v) => v.version === t.version);
          // The version's copy in the registry, or the run it was registered from (a plan that
          // registers and deploys in one pass names the run's artifact, which the copy is made of).
          const source =
            registered &&
            facts.state.runs.find(
              (r) => r.name === registered.run.name && r.number === registered.run.number,
            );
          if (t.artifactUri !== registered?.artifactUri && t.artifactUri !== source?.artifactUri)
            return refuse(
              'artifact-not-registered',
              `${t.artifactUri} is not the artifact of ${model} v${t.version} in this stack's registry`,
            );
        }
      }
      return [];
    }
    case 'register': {
      if (change.after.deferred) return [];
      const { model, run: ref } = change.after;
      const resource = wanted('RegisteredModel', model);
      if (!resource)
        return refuse('not-in-manifests', `no manifest of this stack declares RegisteredModel/${model}`);
      const run = facts.state.runs.find((r) => r.name === ref.name && r.number === ref.number);
      if (!run || run.state !== 'succeeded')
        return refuse('run-not-succeeded', `${ref.name}#${ref.number} is not a succeeded run of this stack`);
      const template = wanted('TrainingRun', run.name);
      const feeds = template && runModel(template.manifest) === model;
      if (!feeds || template.specHash !== run.specHash)
        return refuse(
          'run-not-feeding',
          `${ref.name}#${ref.number} is not a run of the current spec of a TrainingRun feeding ${model}`,
        );
      const gate = evaluateGate(modelSpec(resource.manifest)?.gate, run.metrics, run.baseline);
      if (!gate.passed)
        return refuse('gate-failed', `${ref.name}#${ref.number} failed the gate: ${gate.detail}`);
      return [];
    }
    case 'promote': {
      if (change.after.deferred) return [];
      const { model, alias, version } = change.after;
      const resource = wanted('RegisteredModel', model);
      const aliases = resource && modelSpec(resource.manifest)?.aliases;
      const rule: AliasRule | undefined =
        aliases && Object.hasOwn(aliases, alias) ? aliases[alias] : undefined;
      if (!rule)
        return refuse(
          'not-in-manifests',
          `the manifest of RegisteredModel/${model} declares no alias ${alias}`,
        );
      const versions = (await facts.registry()).find((m) => m.name === model)?.versions ?? [];
      const target = aliasTarget(rule, versions);
      if (target !== version)
        return refuse(
          'alias-target',
          `${alias} of ${model} must point at ${target === null ? 'no version' : `v${target}`} by its rule`,
        );
      return [];
    }
    case 'cancel': {
      const observed = facts.state.runs.find(
        (r) => r.name === change.before.name && r.number === change.before.number,
      );
      if (!observed)
        return refuse(
          'not-owned',
          `${change.before.name}#${change.before.number} is not a run of this stack`,
        );
      if (protectedBy('TrainingRun', observed.name, observed.annotations))
        return refuse('prevent-destroy', `it has ${PREVENT_DESTROY_ANNOTATION}`);
      return [];
    }
    case 'delete': {
      if (change.kind === 'RegisteredModel' && change.target === 'version') {
        const { model, version } = change.before;
        const observed = (await facts.registry()).find((m) => m.name === model);
        if (!observed?.versions.some((v) => v.version === version))
          return refuse('not-owned', `${model} v${version} is not in this stack's registry`);
        const aliased = Object.entries(observed.aliases).find(([, v]) => v === version);
        if (aliased) return refuse('version-in-use', `alias ${aliased[0]} points at it`);
        const served = (await facts.endpoints()).find(
          (e) => e.model === model && e.traffic.some((t) => t.version === version),
        );
        if (served) return refuse('version-in-use', `DeployedEndpoint/${served.name} serves it`);
        return [];
      }
      const name = change.before.name;
      const observed =
        change.kind === 'RegisteredModel'
          ? facts.state.models.find((m) => m.name === name)
          : change.kind === 'DeployedEndpoint'
            ? facts.state.endpoints.find((e) => e.name === name)
            : facts.state.schedules.find((s) => s.name === name);
      if (!observed) return refuse('not-owned', `${change.kind}/${name} is not an object of this stack`);
      if (protectedBy(change.kind, name, observed.annotations))
        return refuse('prevent-destroy', `it has ${PREVENT_DESTROY_ANNOTATION}`);
      if (wanted(change.kind, name)) return refuse('not-in-manifests', 'its manifest is still there');
      return [];
    }
    case 'wait':
    case 'noop':
      return [];
  }
}

function desiredResource(desired: DesiredState, kind: Kind, name: string): LoadedResource | undefined {
  return desired.resources.find((r) => r.kind === kind && r.name === name);
}

const endpointModel = (m: AnyManifest): string | undefined =>
  m.kind === 'DeployedEndpoint' ? m.spec.model : undefined;
const runModel = (m: AnyManifest): string | undefined =>
  m.kind === 'TrainingRun' ? m.spec.model : undefined;
const modelSpec = (m: AnyManifest) => (m.kind === 'RegisteredModel' ? m.spec : undefined);
