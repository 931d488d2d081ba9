/**
 * RegisteredModel: the model object (create, or update in place: every field is updatable), the
 * registration of runs that feed it (behind its gate), its aliases, and retention.
 */
import { ownValue } from '../../resources/own-property.js';
import { runRef } from '../../resources/address.js';
import { error, warning } from '../../resources/diagnostic.js';
import type { ObservedModel, ObservedRun } from '../../providers/provider.js';
import { aliasTarget, describeRule, type VersionFacts } from './aliases.js';
import type { AliasRule, RunRefValue } from './change.js';
import { diffValues, wholeFields } from './field-diff.js';
import { evaluateGate } from './gate.js';
import {
  PHASE,
  addChange,
  annotationsOf,
  at,
  cmp,
  explicitDependsOn,
  labelsOf,
  type Desired,
  type PlanContext,
} from './plan-context.js';
import type { RunsPlan } from './plan-runs.js';

export interface KnownVersion extends VersionFacts {
  run: RunRefValue;
  artifactUri: string;
  /** Registered by this plan (not yet in the registry). */
  isNew: boolean;
}

export interface AliasPlan {
  /** Where the alias points once this plan is applied; null when it points nowhere yet. */
  version: number | null;
  /** Known after training. */
  deferred: boolean;
  /** The promote change, when the alias moves. */
  promote?: string;
}

export interface ModelPlan {
  resource: Desired<'RegisteredModel'>;
  observed?: ObservedModel;
  /** Existing versions and the ones this plan registers for sure, by version number. */
  versions: KnownVersion[];
  /** Registrations that wait for a training: their version numbers are known after training. */
  deferred: number;
  /** Register change address per version this plan registers for sure. */
  registerOf: ReadonlyMap<number, string>;
  /** Every register change of this model, known ones first. */
  registers: string[];
  aliases: ReadonlyMap<string, AliasPlan>;
}

export function planModels(ctx: PlanContext, runs: RunsPlan): Map<string, ModelPlan> {
  const plans = new Map<string, ModelPlan>();
  for (const m of ctx.desired.models) {
    const observed = ctx.observed.models.get(m.name);
    planModelObject(ctx, m, observed);
    const registered = planRegistrations(ctx, m, observed, runs);
    const aliases = planAliases(ctx, m, observed, registered);
    plans.set(m.name, { resource: m, observed, ...registered, aliases });
  }
  return plans;
}

function planModelObject(
  ctx: PlanContext,
  m: Desired<'RegisteredModel'>,
  observed: ObservedModel | undefined,
) {
  const annotations = annotationsOf(m);
  const after = {
    name: m.name,
    specHash: m.specHash,
    spec: m.manifest.spec,
    labels: labelsOf(m),
    annotations,
  };
  const base = {
    kind: 'RegisteredModel' as const,
    address: m.address,
    resource: m.address,
    dependsOn: explicitDependsOn(m),
  };
  if (!observed) {
    const description = m.manifest.spec.description;
    addChange(ctx, PHASE.model, {
      ...base,
      action: 'create',
      reason: `new model${description ? `: ${description}` : ''}`,
      fields: wholeFields(m.manifest.spec, 'spec', 'create'),
      before: null,
      after,
    });
    return;
  }
  const specFields = diffValues(observed.spec, m.manifest.spec, 'spec');
  const annotationFields = diffValues(observed.annotations, annotations, 'metadata.annotations');
  const specChanged = observed.specHash !== m.specHash || specFields.length > 0;
  if (!specChanged && annotationFields.length === 0) {
    const n = observed.versions.length;
    addChange(ctx, PHASE.model, {
      ...base,
      action: 'noop',
      reason: `up to date (${n} version${n === 1 ? '' : 's'})`,
      fields: [],
      before: null,
      after: null,
      notice: false,
    });
    return;
  }
  addChange(ctx, PHASE.model, {
    ...base,
    action: 'update',
    reason: [specChanged && 'spec changed', annotationFields.length > 0 && 'annotations changed']
      .filter(Boolean)
      .join(', '),
    fields: [...specFields, ...annotationFields],
    before: { specHash: observed.specHash, spec: observed.spec, annotations: observed.annotations },
    after,
  });
}

/** Milliseconds since the epoch; providers may write ISO times with or without fractions. */
const time = (iso: string): number => Date.parse(iso) || 0;
const finished = (run: ObservedRun): number => time(run.finishedAt ?? run.createdAt);

type Registered = Pick<ModelPlan, 'versions' | 'deferred' | 'registerOf' | 'registers'>;

/**
 * Succeeded runs of the current spec of every template feeding the model, without a version yet,
 * in finishing order; then runs still training (deferred). A run that finished before the oldest
 * version left by retention was seen by the plan that registered that version: it is history, not
 * a candidate (otherwise retention and registration would undo each other forever).
 */
function planRegistrations(
  ctx: PlanContext,
  m: Desired<'RegisteredModel'>,
  observed: ObservedModel | undefined,
  runs: RunsPlan,
): Registered {
  const existing = [...(observed?.versions ?? [])].sort((a, b) => a.version - b.version);
  const versions: KnownVersion[] = existing.map((v) => ({
    version: v.version,
    metrics: v.metrics,
    run: v.run,
    artifactUri: v.artifactUri,
    isNew: false,
  }));
  const registeredRuns = new Set(existing.map((v) => runRef(v.run)));
  const cutoff =
    existing.length >= m.manifest.spec.retention.keepVersions
      ? Math.min(...existing.map((v) => time(v.createdAt)))
      : undefined;
  const templates = ctx.desired.runsByModel.get(m.name) ?? [];

  const candidates: ObservedRun[] = [];
  for (const t of templates) {
    for (const run of ctx.observed.runsByName.get(t.name) ?? []) {
      if (run.state !== 'succeeded' || run.specHash !== t.specHash || registeredRuns.has(runRef(run)))
        continue;
      if (cutoff !== undefined && finished(run) < cutoff) continue;
      candidates.push(run);
    }
  }
  candidates.sort((a, b) => finished(a) - finished(b) || cmp(a.name, b.name) || a.number - b.number);

  const registerOf = new Map<number, string>();
  const registers: string[] = [];
  let next = (existing.at(-1)?.version ?? 0) + 1;
  const gate = m.manifest.spec.gate;
  for (const run of candidates) {
    const label = runRef(run);
    const address = `${m.address}/versions/${label}`;
    const result = evaluateGate(gate, run.metrics, run.baseline);
    const base = { kind: 'RegisteredModel' as const, address, resource: m.address, fields: [] };
    if (!result.passed) {
      addChange(ctx, PHASE.register, {
        ...base,
        action: 'noop',
        reason: `${label} failed the gate: ${result.detail}`,
        dependsOn: [],
        before: null,
        after: null,
        notice: true,
      });
      continue;
    }
    if (!run.artifactUri) {
      ctx.diagnostics.push(
        warning('run-without-artifact', `${label} succeeded but reports no artifact; it is not registered`, {
          ...at(m),
          hint: `check the run with \`mlform describe trainingrun/${run.name}\``,
        }),
      );
      continue;
    }
    const version = next++;
    addChange(ctx, PHASE.register, {
      ...base,
      action: 'register',
      reason: `${label} passed the gate (${result.detail})`,
      dependsOn: [m.address, ...registers.slice(-1)],
      before: null,
      after: {
        model: m.name,
        run: { name: run.name, number: run.number },
        deferred: false,
        version,
        specHash: run.specHash,
        artifactUri: run.artifactUri,
        metrics: run.metrics ?? {},
        baseline: run.baseline ?? {},
        gate: result.detail,
      },
    });
    versions.push({
      version,
      metrics: run.metrics ?? {},
      run: { name: run.name, number: run.number },
      artifactUri: run.artifactUri,
      isNew: true,
    });
    registerOf.set(version, address);
    registers.push(address);
  }

  const lastKnown = registers.slice(-1);
  let deferred = 0;
  for (const t of templates) {
    for (const p of runs.pending.get(t.name) ?? []) {
      const label = runRef(p.run);
      const address = `${m.address}/versions/${label}`;
      addChange(ctx, PHASE.register, {
        kind: 'RegisteredModel',
        action: 'register',
        address,
        resource: m.address,
        reason: gate ? `after training, if ${label} passes the gate` : `after training of ${label}`,
        fields: [],
        dependsOn: [m.address, p.address, ...lastKnown],
        before: null,
        after: { model: m.name, run: p.run, deferred: true, version: null },
      });
      registers.push(address);
      deferred += 1;
    }
  }
  return { versions, deferred, registerOf, registers };
}

function planAliases(
  ctx: PlanContext,
  m: Desired<'RegisteredModel'>,
  observed: ObservedModel | undefined,
  registered: Registered,
): Map<string, AliasPlan> {
  const plans = new Map<string, AliasPlan>();
  const { versions, deferred, registerOf, registers } = registered;
  const newest = versions.at(-1)?.version ?? 0;
  const entries = Object.entries(m.manifest.spec.aliases).sort(([a], [b]) => cmp(a, b));
  for (const [alias, rule] of entries as [string, AliasRule][]) {
    const current = ownValue(observed?.aliases, alias) ?? null;
    const address = `${m.address}/aliases/${alias}`;
    const base = { kind: 'RegisteredModel' as const, address, resource: m.address, fields: [] };
    const before = { model: m.name, alias, version: current };
    let target: number | null;
    let isDeferred = false;
    if (rule.version !== undefined) {
      target = aliasTarget(rule, versions);
      if (target === null) {
        if (deferred > 0 && rule.version <= newest + deferred) {
          isDeferred = true;
        } else {
          ctx.diagnostics.push(
            error(
              'alias-version',
              `alias "${alias}" is pinned to version ${rule.version}, but ${m.address} has no version ${rule.version}`,
              {
                ...at(m, ['spec', 'aliases', alias, 'version']),
                hint:
                  versions.length > 0
                    ? `existing versions: ${versions.map((v) => `v${v.version}`).join(', ')}`
                    : 'the model has no versions yet: use `{policy: latest}` or `{policy: best, metric: ...}`',
              },
            ),
          );
          plans.set(alias, { version: current, deferred: false });
          continue;
        }
      }
    } else {
      // A training in flight may produce the newest or the best version: the target waits for it.
      isDeferred = deferred > 0;
      target = isDeferred ? null : aliasTarget(rule, versions);
    }
    if (isDeferred) {
      addChange(ctx, PHASE.promote, {
        ...base,
        action: 'promote',
        reason: `${alias} follows ${describeRule(rule)}: known after training`,
        dependsOn: [m.address, ...registers],
        before,
        after: { model: m.name, alias, rule, deferred: true, version: null },
      });
      plans.set(alias, { version: null, deferred: true, promote: address });
      continue;
    }
    if (target === null || target === current) {
      // Nothing qualifies yet (no versions, or none with the metric): the alias stays where it is.
      plans.set(alias, { version: current, deferred: false });
      continue;
    }
    const registeredBy = registerOf.get(target);
    addChange(ctx, PHASE.promote, {
      ...base,
      action: 'promote',
      reason: `${alias} follows ${describeRule(rule)}`,
      dependsOn: [m.address, ...(registeredBy ? [registeredBy] : [])],
      before,
      after: { model: m.name, alias, rule, deferred: false, version: target },
    });
    plans.set(alias, { version: target, deferred: false, promote: address });
  }
  return plans;
}
