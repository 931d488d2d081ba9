/**
 * The spec a trial trains: the run's spec without `tuning`, with the trial's sampled values at
 * their paths in `trainer.builtin`, validated like a manifest so that a bad value in `choice` (or a
 * `uniform` over an integer field) fails that trial with a field path instead of deep in training.
 */
import { formatPath, type Diagnostic } from '../../resources/diagnostic.js';
import { API_VERSION } from '../../resources/metadata.js';
import {
  checkTrainingRunSpec,
  resolveTuningPath,
  type BuiltinTrainer,
  type TrainingRunSpec,
} from '../../resources/training-run.js';
import { validateAgainstSchema } from '../../manifests/schema-validation.js';
import type { TrialParams } from './search-space.js';

/**
 * Rules of the manifest that a trial may break on purpose: successive halving trains rungs of a
 * few epochs, fewer than the early-stopping patience, which only means it cannot stop that early.
 */
const WAIVED_CHECKS = new Set(['early-stopping-patience']);

/** Sets `value` at a dotted path, creating missing objects on the way (`hyperparameters.earlyStopping`). */
export function setAtPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

export type TrialSpecResult = { ok: true; spec: TrainingRunSpec } | { ok: false; message: string };

/** The trial's spec, or why it cannot train. `spec` is not modified. */
export function trialSpec(spec: TrainingRunSpec, params: TrialParams): TrialSpecResult {
  const { tuning: _tuning, ...rest } = structuredClone(spec);
  const builtin = rest.trainer.builtin;
  if (!builtin) return { ok: false, message: 'tuning needs trainer.builtin' };
  for (const [key, value] of Object.entries(params)) {
    setAtPath(builtin as unknown as Record<string, unknown>, resolveTuningPath(key), structuredClone(value));
  }
  // Validating the whole document also fills defaults of objects a path created (earlyStopping).
  const document = { apiVersion: API_VERSION, kind: 'TrainingRun', metadata: { name: 'trial' }, spec: rest };
  const issues: Diagnostic[] = validateAgainstSchema('TrainingRun', document);
  if (issues.length === 0)
    issues.push(...checkTrainingRunSpec(rest).filter((d) => !WAIVED_CHECKS.has(d.code)));
  const errors = issues.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    const where = (d: Diagnostic) => (d.path && d.path.length > 0 ? `${formatPath(d.path)}: ` : '');
    return {
      ok: false,
      message: `invalid trial spec (${describeParams(params)}): ${errors.map((d) => `${where(d)}${d.message}`).join('; ')}`,
    };
  }
  return { ok: true, spec: rest };
}

/** A copy of a trial spec with another epoch budget (a rung of successive halving). */
export function withEpochs(spec: TrainingRunSpec, epochs: number): TrainingRunSpec {
  const copy = structuredClone(spec);
  (copy.trainer.builtin as BuiltinTrainer).hyperparameters.epochs = epochs;
  return copy;
}

/** `learningRate=0.003, network.layers=[32,16]` for messages. */
export const describeParams = (params: TrialParams): string =>
  Object.entries(params)
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join(', ');
