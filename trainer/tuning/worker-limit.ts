/**
 * How many training processes may run at once on this machine. Each builtin training is one
 * single-threaded process (the wasm backend), a tuning run one per parallel trial: more of them
 * than cores only share the cores and add their memory (eight runs reached 877 MB in 3 s). The
 * operator sets it with `MLFORM_MAX_LOCAL_TRAININGS` (or the policy's `maxLocalTrainings`, read by
 * the CLI); the local provider hands each tuning run the number of slots it was given in the same
 * variable, so its trial workers stay within them.
 */
import { availableParallelism } from 'node:os';

export const MAX_LOCAL_TRAININGS_ENV = 'MLFORM_MAX_LOCAL_TRAININGS';

/** A positive whole number from the environment, else undefined (an invalid value is ignored). */
export function limitFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[MAX_LOCAL_TRAININGS_ENV]?.trim();
  if (!raw || !/^[1-9]\d{0,5}$/.test(raw)) return undefined;
  return Number(raw);
}

/** The limit: the tighter of the operator's settings given, else the number of cores. */
export function localTrainingLimit(...limits: (number | undefined)[]): number {
  const given = limits.filter((l): l is number => l !== undefined && Number.isInteger(l) && l >= 1);
  return given.length > 0 ? Math.min(...given) : availableParallelism();
}

/** Trial workers of one tuning run: `tuning.parallel`, never more than the slots it holds. */
export const trialWorkers = (parallel: number, env: NodeJS.ProcessEnv = process.env): number =>
  Math.max(1, Math.min(parallel, localTrainingLimit(limitFromEnv(env))));
