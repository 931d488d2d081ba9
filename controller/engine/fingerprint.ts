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
import type { Change, Plan } from './change.js';
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
  const imports = desired.project?.config.import ?? [];
  return sha256(
    stableJson({
      stack: desired.project?.config.stack ?? 'default',
      options,
      resources,
      // Only when there are any, so the fingerprints of projects without imports stay as they were.
      ...(imports.length > 0 && { imports }),
    }),
  );
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
  const unmanaged = observed.unmanaged && [...observed.unmanaged].sort((a, b) => cmp(a.id, b.id));
  return sha256(stableJson({ runs, models, endpoints, schedules, ...(unmanaged && { unmanaged }) }));
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

/**
 * A change as apply executes it: what was only shown when the plan was made and moves with time
 * (the reason, training progress, an endpoint's health text, a schedule's next fire time) is left
 * out. Everything else — addresses, payloads, paths, artifact URIs, dependencies — is kept.
 */
export function canonicalChange(change: Change): unknown {
  const { reason: _reason, ...rest } = change;
  const out: Record<string, unknown> = { ...rest };
  if (change.action === 'wait' && change.kind === 'TrainingRun') delete out.progress;
  if ((change.action === 'create' || change.action === 'update') && change.kind === 'Schedule') {
    const { nextFireTime: _next, ...after } = change.after;
    out.after = after;
  }
  if (change.action === 'update' && change.kind === 'DeployedEndpoint') {
    const { healthDetail: _detail, ...before } = change.before;
    out.before = before;
  }
  return out;
}

/**
 * A saved plan is a claim: "these are the changes `plan` makes from these manifests and this
 * state". `apply PLANFILE` plans again from the same inputs and refuses the file unless its
 * changes (and summary) are the recomputed ones, compared as canonical JSON. Its diagnostics are not
 * compared: apply reads only the recomputed plan's (any error there refuses the file), and warnings
 * may name files relative to the directory `plan` ran in. The first
 * change that differs is named, so an appended, removed or edited change is visible.
 */
export function checkPlanClaim(saved: Plan, recomputed: Plan): Diagnostic[] {
  const hint =
    'a saved plan must be applied as `mlform plan --out FILE` wrote it; make it again and keep it where the manifests’ authors cannot write';
  const refuse = (what: string) => [
    error('plan-tampered', `the saved plan does not match the plan computed now: ${what}`, { hint }),
  ];
  if (saved.stack !== recomputed.stack) return refuse(`it is for stack "${saved.stack}"`);
  if (stableJson(saved.options) !== stableJson(recomputed.options)) return refuse('its options differ');
  const ours = saved.changes.map((c) => stableJson(canonicalChange(c)));
  const theirs = recomputed.changes.map((c) => stableJson(canonicalChange(c)));
  const length = Math.max(ours.length, theirs.length);
  for (let i = 0; i < length; i++) {
    if (ours[i] === theirs[i]) continue;
    const inFile = saved.changes[i];
    const planned = recomputed.changes[i];
    if (!planned) return refuse(`change ${i + 1}, ${inFile.action} ${inFile.address}, is not planned`);
    if (!inFile) return refuse(`it lacks change ${i + 1}, ${planned.action} ${planned.address}`);
    if (inFile.address !== planned.address || inFile.action !== planned.action) {
      const elsewhere = recomputed.changes.some(
        (c) => c.address === inFile.address && c.action === inFile.action,
      );
      return refuse(
        elsewhere
          ? `change ${i + 1} is ${inFile.action} ${inFile.address}, where ${planned.action} ${planned.address} is planned`
          : `change ${i + 1}, ${inFile.action} ${inFile.address}, is not planned`,
      );
    }
    const path = differingPath(canonicalChange(inFile), canonicalChange(planned)) || '(the whole change)';
    return refuse(`change ${i + 1}, ${inFile.action} ${inFile.address}, differs at ${path}`);
  }
  if (stableJson(saved.summary) !== stableJson(recomputed.summary)) return refuse('its summary differs');
  return [];
}

/**
 * The first field path where two canonical values differ (`after.traffic[0].artifactUri`), '' when
 * they are equal. Recursion is bounded: both sides passed the plan schema, a few levels deep.
 */
function differingPath(a: unknown, b: unknown, at = ''): string {
  if (stableJson(a) === stableJson(b)) return '';
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';
  if (!isObject(a) || !isObject(b) || Array.isArray(a) !== Array.isArray(b)) return at || '(the value)';
  const keys = Array.isArray(a)
    ? Array.from({ length: Math.max(a.length, Object.keys(b).length) }, (_, i) => String(i))
    : [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(cmp);
  for (const key of keys) {
    const step = Array.isArray(a) ? `${at}[${key}]` : at ? `${at}.${key}` : key;
    const found = differingPath(a[key], b[key], step);
    if (found) return found;
  }
  return at || '(the value)';
}
