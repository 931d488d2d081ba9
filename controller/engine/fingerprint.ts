/**
 * What a plan was computed from, as digests: `apply PLANFILE` re-observes (and re-reads the
 * manifests), recomputes these and refuses the plan when they differ. Only what decisions depend
 * on is hashed: training progress, URLs, health details and fire times change without making a
 * plan wrong, so they are left out.
 */
import { createHash } from 'node:crypto';
import type { DesiredState } from '../../manifests/load.js';
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import type { ObservedState } from '../../providers/provider.js';
import type { Plan } from './change.js';
import { cmp } from './plan-context.js';

const sha256 = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

/**
 * JSON with object keys sorted: equal values, equal text. The native serialiser with a key-sorting
 * replacer is several times faster than a hand-written one on the whole observed state.
 */
const stableJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => cmp(a, b)))
      : v,
  );

export interface PlanBasis {
  desired: string;
  observed: string;
}

export function desiredDigest(desired: DesiredState, options: { destroy: boolean; prune: boolean }): string {
  const resources = [...desired.resources]
    .sort((a, b) => cmp(a.address, b.address))
    .map((r) => ({
      address: r.address,
      specHash: r.specHash,
      manifestPath: r.source.path,
      labels: r.manifest.metadata.labels ?? {},
      annotations: r.manifest.metadata.annotations ?? {},
      dependsOn: r.manifest.metadata.dependsOn ?? [],
    }));
  return sha256(stableJson({ stack: desired.project?.config.stack ?? 'default', options, resources }));
}

export function observedDigest(observed: ObservedState): string {
  const runs = [...observed.runs]
    .sort((a, b) => cmp(a.name, b.name) || a.number - b.number)
    .map(({ progress: _progress, error: _error, ...run }) => run);
  const models = [...observed.models]
    .sort((a, b) => cmp(a.name, b.name))
    .map((m) => ({ ...m, versions: [...m.versions].sort((a, b) => a.version - b.version) }));
  const endpoints = [...observed.endpoints]
    .sort((a, b) => cmp(a.name, b.name))
    .map(({ url: _url, healthDetail: _detail, ...e }) => e);
  const schedules = [...observed.schedules]
    .sort((a, b) => cmp(a.name, b.name))
    .map(({ lastFireTime: _last, ...s }) => s);
  return sha256(stableJson({ runs, models, endpoints, schedules }));
}

export function planFingerprint(
  desired: DesiredState,
  observed: ObservedState,
  options: { destroy: boolean; prune: boolean },
): { fingerprint: string; basis: PlanBasis } {
  const basis = { desired: desiredDigest(desired, options), observed: observedDigest(observed) };
  return { fingerprint: sha256(stableJson(basis)), basis };
}

/**
 * Whether a saved plan may still be applied: the manifests and the actual state must be what the
 * plan was computed from. Errors, never thrown: the CLI refuses and says why.
 */
export function checkPlanFresh(saved: Plan, desired: DesiredState, observed: ObservedState): Diagnostic[] {
  const now = planFingerprint(desired, observed, saved.options);
  if (now.fingerprint === saved.fingerprint) return [];
  const out: Diagnostic[] = [];
  const again = 'run `mlform plan -out FILE` again, review it, and apply the new file';
  const stack = desired.project?.config.stack ?? 'default';
  if (stack !== saved.stack) {
    out.push(
      error('stale-plan', `the saved plan is for stack "${saved.stack}", not "${stack}"`, { hint: again }),
    );
  } else if (now.basis.desired !== saved.basis.desired) {
    out.push(error('stale-plan', 'the manifests changed since the saved plan was made', { hint: again }));
  }
  if (now.basis.observed !== saved.basis.observed) {
    out.push(
      error(
        'stale-plan',
        'the actual state changed since the saved plan was made (another apply, a finished training, or a change by hand)',
        { hint: again },
      ),
    );
  }
  if (out.length === 0)
    out.push(error('stale-plan', 'the saved plan does not match its fingerprint', { hint: again }));
  return out;
}
