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
import {
  addressOf,
  deployedEndpointAddress,
  registeredModelAddress,
  runRef,
  scheduleAddress,
  trainingRunAddress,
} from '../../resources/address.js';
import { triggerSignal } from '../../monitoring/trigger.js';
import { triggerTarget } from '../../resources/schedule.js';
import type { ObservedEndpoint, ObservedModel, ObservedState } from '../../providers/provider.js';
import { aliasTarget } from './aliases.js';
import type { AliasRule, Change, ChangeOf, PromoteChange, RegisterChange } from './change.js';
import { evaluateGate } from './gate.js';
import { scheduleAppliedHash } from './plan-schedules.js';

export interface GuardFacts {
  desired: DesiredState;
  /** The state observed before this pass of apply (this stack's objects only). */
  state: ObservedState;
  /** The registry as listed just before the change (registrations of this pass included). */
  registry: () => Promise<ObservedModel[]>;
  /** Live endpoints as listed just before the change (updates of this pass included). */
  endpoints: () => Promise<ObservedEndpoint[]>;
  destroy: boolean;
  /** Resources this apply adopts: never deleted by the apply that adopts them. */
  adopting?: ReadonlySet<string>;
}

/** The changes whose object must be declared by a manifest of the stack (and match it). */
type DeclaredChange = ChangeOf<'create' | 'update' | 'replace'>;
type ConcreteRegister = RegisterChange & { after: { deferred: false } };
type ConcretePromote = PromoteChange & { after: { deferred: false } };
type DeleteChange = ChangeOf<'delete'>;

/**
 * Which rule set guards a change, with the change narrowed to what that rule reads. Deferred
 * registrations and promotes, waits and noops have none: apply never carries them out as they are.
 */
export type Guard =
  | { rule: 'declared'; change: DeclaredChange }
  | { rule: 'register'; change: ConcreteRegister }
  | { rule: 'promote'; change: ConcretePromote }
  | { rule: 'cancel'; change: ChangeOf<'cancel'> }
  | { rule: 'adopt'; change: ChangeOf<'adopt'> }
  | { rule: 'delete'; change: DeleteChange }
  | { rule: 'fire'; change: ChangeOf<'fire'> };

export function guardOf(change: Change): Guard | undefined {
  switch (change.action) {
    case 'create':
    case 'replace':
    case 'update':
      return { rule: 'declared', change };
    case 'register':
      return isConcrete(change) ? { rule: 'register', change } : undefined;
    case 'promote':
      return isConcrete(change) ? { rule: 'promote', change } : undefined;
    case 'cancel':
      return { rule: 'cancel', change };
    case 'delete':
      return { rule: 'delete', change };
    case 'fire':
      return { rule: 'fire', change };
    case 'adopt':
      return { rule: 'adopt', change };
    case 'wait':
    case 'noop':
      return undefined;
  }
}

const isConcrete = <C extends RegisterChange | PromoteChange>(
  change: C,
): change is C & { after: { deferred: false } } => !change.after.deferred;

/** Errors for a change that must not be carried out; empty when it may. */
export async function guardChange(change: Change, facts: GuardFacts): Promise<Diagnostic[]> {
  const guard = guardOf(change);
  return guard ? checkGuard(guard, facts) : [];
}

export async function checkGuard(guard: Guard, facts: GuardFacts): Promise<Diagnostic[]> {
  const rules = new GuardRules(guard.change, facts);
  switch (guard.rule) {
    case 'declared':
      return rules.declared(guard.change);
    case 'register':
      return rules.register(guard.change);
    case 'promote':
      return rules.promote(guard.change);
    case 'cancel':
      return rules.cancel(guard.change);
    case 'delete':
      return rules.delete(guard.change);
    case 'fire':
      return rules.fire(guard.change);
    case 'adopt':
      return rules.adopt(guard.change);
  }
}

/** The rules, each reading the manifests and the observed state (never the change's own claims). */
class GuardRules {
  constructor(
    private readonly change: Change,
    private readonly facts: GuardFacts,
  ) {}

  private refuse(code: string, message: string): Diagnostic[] {
    return [
      error(code, `refused to ${this.change.action} ${this.change.address}: ${message}`, {
        address: this.change.resource,
        hint: 'this change breaks a rule of the plan; plan again and report the plan that produced it',
      }),
    ];
  }

  private desired(kind: Kind, name: string): LoadedResource | undefined {
    return this.facts.desired.resources.find((r) => r.kind === kind && r.name === name);
  }

  private wanted(kind: Kind, name: string): LoadedResource | undefined {
    return this.facts.destroy ? undefined : this.desired(kind, name);
  }

  private protectedBy(kind: Kind, name: string, observed?: Record<string, string>): boolean {
    return (
      observed?.[PREVENT_DESTROY_ANNOTATION] === 'true' ||
      this.desired(kind, name)?.manifest.metadata.annotations?.[PREVENT_DESTROY_ANNOTATION] === 'true'
    );
  }

  private findRun(ref: { name: string; number: number }) {
    return this.facts.state.runs.find((r) => r.name === ref.name && r.number === ref.number);
  }

  async declared(change: DeclaredChange): Promise<Diagnostic[]> {
    const after = change.after;
    const resource = this.wanted(change.kind, after.name);
    if (!resource)
      return this.refuse(
        'not-in-manifests',
        `no manifest of this stack declares ${addressOf(change.kind, after.name)}`,
      );
    if (resource.specHash !== after.specHash && change.kind !== 'Schedule')
      return this.refuse('spec-mismatch', `its spec is not the manifest's (spec hash ${after.specHash})`);
    if (change.kind === 'TrainingRun') {
      if (change.after.manifestPath !== resource.source.path)
        return this.refuse('manifest-path-mismatch', `its manifest path is not ${resource.source.path}`);
      if (change.action === 'replace') {
        for (const run of change.before.cancel) {
          if (this.protectedBy('TrainingRun', run.name, this.findRun(run)?.annotations))
            return this.refuse('prevent-destroy', `${runRef(run)} has ${PREVENT_DESTROY_ANNOTATION}`);
        }
      }
    }
    if (change.kind === 'Schedule') {
      const template = this.wanted('TrainingRun', change.after.template.name);
      if (!template || template.source.path !== change.after.template.manifestPath)
        return this.refuse(
          'manifest-path-mismatch',
          `its template is not the manifest of ${trainingRunAddress(change.after.template.name)}`,
        );
    }
    if (change.kind === 'DeployedEndpoint') {
      const model = endpointModel(resource.manifest);
      if (change.after.model !== model)
        return this.refuse('not-in-manifests', `its manifest serves model ${model}`);
      const versions = (await this.facts.registry()).find((m) => m.name === model)?.versions ?? [];
      for (const t of change.after.traffic) {
        if (t.version === null || t.artifactUri === null) continue;
        const registered = versions.find((v) => v.version === t.version);
        // The version's copy in the registry, or the run it was registered from (a plan that
        // registers and deploys in one pass names the run's artifact, which the copy is made of).
        const source = registered && this.findRun(registered.run);
        if (t.artifactUri !== registered?.artifactUri && t.artifactUri !== source?.artifactUri)
          return this.refuse(
            'artifact-not-registered',
            `${t.artifactUri} is not the artifact of ${model} v${t.version} in this stack's registry`,
          );
      }
    }
    return [];
  }

  register(change: ConcreteRegister): Diagnostic[] {
    const { model, run: ref } = change.after;
    const resource = this.wanted('RegisteredModel', model);
    if (!resource)
      return this.refuse(
        'not-in-manifests',
        `no manifest of this stack declares ${registeredModelAddress(model)}`,
      );
    const run = this.findRun(ref);
    if (!run || run.state !== 'succeeded')
      return this.refuse('run-not-succeeded', `${runRef(ref)} is not a succeeded run of this stack`);
    const template = this.wanted('TrainingRun', run.name);
    const feeds = template && runModel(template.manifest) === model;
    if (!feeds || template.specHash !== run.specHash)
      return this.refuse(
        'run-not-feeding',
        `${runRef(ref)} is not a run of the current spec of a TrainingRun feeding ${model}`,
      );
    const gate = evaluateGate(modelSpec(resource.manifest)?.gate, run.metrics, run.baseline);
    if (!gate.passed) return this.refuse('gate-failed', `${runRef(ref)} failed the gate: ${gate.detail}`);
    return [];
  }

  async promote(change: ConcretePromote): Promise<Diagnostic[]> {
    const { model, alias, version } = change.after;
    const resource = this.wanted('RegisteredModel', model);
    const aliases = resource && modelSpec(resource.manifest)?.aliases;
    const rule: AliasRule | undefined = aliases && Object.hasOwn(aliases, alias) ? aliases[alias] : undefined;
    if (!rule)
      return this.refuse(
        'not-in-manifests',
        `the manifest of ${registeredModelAddress(model)} declares no alias ${alias}`,
      );
    const versions = (await this.facts.registry()).find((m) => m.name === model)?.versions ?? [];
    const target = aliasTarget(rule, versions);
    if (target !== version)
      return this.refuse(
        'alias-target',
        `${alias} of ${model} must point at ${target === null ? 'no version' : `v${target}`} by its rule`,
      );
    return [];
  }

  cancel(change: ChangeOf<'cancel'>): Diagnostic[] {
    const observed = this.findRun(change.before);
    if (!observed) return this.refuse('not-owned', `${runRef(change.before)} is not a run of this stack`);
    if (this.protectedBy('TrainingRun', observed.name, observed.annotations))
      return this.refuse('prevent-destroy', `it has ${PREVENT_DESTROY_ANNOTATION}`);
    return [];
  }

  /**
   * A signal fire: the schedule is the stack's, declared, not suspended, and the trigger's
   * condition holds in the observed monitoring of its endpoint (the cooldown needs a clock, which
   * the plan read). Replace cancels the schedule's active runs: none may be protected.
   */
  fire(change: ChangeOf<'fire'>): Diagnostic[] {
    const { name, trigger: index } = change.after;
    const resource = this.wanted('Schedule', name);
    const spec = resource?.manifest.kind === 'Schedule' ? resource.manifest.spec : undefined;
    if (!spec)
      return this.refuse('not-in-manifests', `no manifest of this stack declares ${scheduleAddress(name)}`);
    if (spec.suspend) return this.refuse('suspended', `${scheduleAddress(name)} is suspended`);
    const trigger = spec.triggers?.[index];
    if (!trigger) return this.refuse('not-in-manifests', `its manifest has no trigger ${index}`);
    if (!this.facts.state.schedules.some((s) => s.name === name))
      return this.refuse('not-owned', `${scheduleAddress(name)} is not an object of this stack`);
    const { endpoint } = triggerTarget(trigger);
    const status = this.facts.state.endpoints.find((e) => e.name === endpoint)?.monitoring;
    if (!status || triggerSignal(trigger, status) === undefined)
      return this.refuse(
        'no-signal',
        `the condition of trigger ${index} does not hold on ${deployedEndpointAddress(endpoint)}`,
      );
    if (spec.concurrencyPolicy === 'Replace') {
      const active = this.facts.state.runs.filter(
        (r) => r.schedule === name && (r.state === 'queued' || r.state === 'running'),
      );
      const guarded = active.find((r) => this.protectedBy('TrainingRun', r.name, r.annotations));
      if (guarded)
        return this.refuse('prevent-destroy', `${runRef(guarded)} has ${PREVENT_DESTROY_ANNOTATION}`);
    }
    return [];
  }

  /**
   * An adoption: the manifest declares it with this spec, an `import:` entry names exactly this
   * object for it, and the unmanaged listing shows the object without an owner.
   */
  adopt(change: ChangeOf<'adopt'>): Diagnostic[] {
    const { name, id, specHash } = change.after;
    const resource = this.wanted(change.kind, name);
    if (!resource)
      return this.refuse('not-in-manifests', `no manifest of this stack declares ${change.resource}`);
    // A schedule is adopted with the hash apply records on it: its own and its template's.
    const template =
      resource.manifest.kind === 'Schedule'
        ? this.desired('TrainingRun', resource.manifest.spec.trainingRun)
        : undefined;
    const expected = template ? scheduleAppliedHash(resource.specHash, template.specHash) : resource.specHash;
    if (expected !== specHash)
      return this.refuse('spec-mismatch', `its spec is not the manifest's (spec hash ${specHash})`);
    const entries = this.facts.desired.project?.config.import ?? [];
    const names = (e: { id: string }) => e.id === id || (!e.id.includes('/') && id.endsWith(`/${e.id}`));
    if (!entries.some((e) => e.to === resource.address && names(e)))
      return this.refuse('not-imported', `no import entry adopts ${id} as ${resource.address}`);
    const found = this.facts.state.unmanaged?.find((u) => u.id === id && u.kind === change.kind);
    if (!found || found.owner)
      return this.refuse(
        'not-adoptable',
        found?.owner ? `${id} belongs to stack ${found.owner.stack}` : `${id} is not an unmanaged object`,
      );
    return [];
  }

  async delete(change: DeleteChange): Promise<Diagnostic[]> {
    if (this.facts.adopting?.has(change.resource))
      return this.refuse(
        'adopted-first-apply',
        `${change.resource} is adopted by this apply; nothing of it is deleted before the next apply`,
      );
    if (change.kind === 'RegisteredModel' && change.target === 'version') {
      const { model, version } = change.before;
      const observed = (await this.facts.registry()).find((m) => m.name === model);
      if (!observed?.versions.some((v) => v.version === version))
        return this.refuse('not-owned', `${model} v${version} is not in this stack's registry`);
      const aliased = Object.entries(observed.aliases).find(([, v]) => v === version);
      if (aliased) return this.refuse('version-in-use', `alias ${aliased[0]} points at it`);
      const served = (await this.facts.endpoints()).find(
        (e) => e.model === model && e.traffic.some((t) => t.version === version),
      );
      if (served) return this.refuse('version-in-use', `${deployedEndpointAddress(served.name)} serves it`);
      return [];
    }
    const name = change.before.name;
    const { state } = this.facts;
    const observed =
      change.kind === 'RegisteredModel'
        ? state.models.find((m) => m.name === name)
        : change.kind === 'DeployedEndpoint'
          ? state.endpoints.find((e) => e.name === name)
          : state.schedules.find((s) => s.name === name);
    if (!observed)
      return this.refuse('not-owned', `${addressOf(change.kind, name)} is not an object of this stack`);
    if (this.protectedBy(change.kind, name, observed.annotations))
      return this.refuse('prevent-destroy', `it has ${PREVENT_DESTROY_ANNOTATION}`);
    if (this.wanted(change.kind, name)) return this.refuse('not-in-manifests', 'its manifest is still there');
    return [];
  }
}

const endpointModel = (m: AnyManifest): string | undefined =>
  m.kind === 'DeployedEndpoint' ? m.spec.model : undefined;
const runModel = (m: AnyManifest): string | undefined =>
  m.kind === 'TrainingRun' ? m.spec.model : undefined;
const modelSpec = (m: AnyManifest) => (m.kind === 'RegisteredModel' ? m.spec : undefined);
