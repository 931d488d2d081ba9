/**
 * Test helpers of the objectives. tuning-objective-health.json holds metrics.json `health`
 * exactly as the builtin trainer wrote it for iris (examples/trainer/iris-tuning.yaml, 20 epochs,
 * seed 7): learning rate 0.01 (healthy) and 0.03 (overfits: its
 * val_loss 0.0862 is slightly better than 0.1089, its generalisation component is 0.218), and
 * 1e6 (vanishing gradients, a dead unit). Copied from real artifacts, not made up.
 */
import { readFileSync } from 'node:fs';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { resolveTraining } from '../../trainer/main.js';

/** A TrainingRun manifest's spec as the trainer resolves it (defaults, the folder data is read from). */
export async function resolvedSpec(
  file: string,
  out: string,
): Promise<{ spec: TrainingRunSpec; baseDir: string }> {
  const resolved = await resolveTraining({ specFile: file, out }, {});
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.diagnostics));
  return { spec: resolved.value.resource.manifest.spec as TrainingRunSpec, baseDir: resolved.value.baseDir };
}

/** metrics.json `health` of the three trainings and of a diverged one (tuning-objective-health.json). */
const health = JSON.parse(
  readFileSync(new URL('./tuning-objective-health.json', import.meta.url), 'utf8'),
) as Record<'healthy' | 'overfitting' | 'vanishing' | 'diverged', unknown>;
export const HEALTHY = health.healthy;
export const OVERFITTING = health.overfitting;
export const VANISHING = health.vanishing;
/** A diverged training: NaN is written as null (artifact/files.ts toJsonText). */
export const DIVERGED = health.diverged;
