/**
 * The environment and arguments of your own trainer (`trainer.command`): a fixed, small set of
 * variables, never the supervisor's own (which holds the operator's credentials and policy), plus
 * the manifest's `trainer.env` with its secret references resolved from the operator's sources.
 */
import { hyperparametersJson, TRAINER_ENV, type HyperparameterValues } from '../../artifact/contract.js';
import type { Diagnostic } from '../../resources/diagnostic.js';
import { reservedEnvDiagnostic } from '../secrets.js';

/** The system default: a command from a commit finds programs where the OS put them, not where the operator's shell does. */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Variables mlform sets itself; a manifest's `trainer.env` cannot replace them. */
export const RESERVED_ENV_NAMES: readonly string[] = [
  'PATH',
  'HOME',
  'LANG',
  'PYTHONUNBUFFERED',
  ...Object.values(TRAINER_ENV),
];

/** Errors for `trainer.env` names mlform sets itself (plan time; `resolveLocalEnv` refuses them again at launch). */
export const reservedEnvDiagnostics = (env: Record<string, unknown> | undefined): Diagnostic[] =>
  Object.keys(env ?? {})
    .filter((name) => RESERVED_ENV_NAMES.includes(name))
    .map((name) => reservedEnvDiagnostic(name, ['spec', 'trainer', 'env', name], RESERVED_ENV_NAMES));

export interface CommandEnvInput {
  modelDir: string;
  checkpointDir: string;
  hyperparameters?: HyperparameterValues;
  /** `TrainingRun/name` (MLFORM_RUN). */
  run: string;
  /** The manifest's `trainer.env`, secret references already resolved. */
  resolvedEnv: Record<string, string>;
}

/** The whole environment of the command. */
export function commandEnv(input: CommandEnvInput): Record<string, string> {
  return {
    ...input.resolvedEnv,
    PATH: SYSTEM_PATH,
    HOME: '/tmp',
    LANG: 'C.UTF-8',
    PYTHONUNBUFFERED: '1',
    [TRAINER_ENV.modelDir]: input.modelDir,
    [TRAINER_ENV.checkpointDir]: input.checkpointDir,
    [TRAINER_ENV.tensorboardDir]: `${input.modelDir}/tensorboard`,
    [TRAINER_ENV.hyperparameters]: hyperparametersJson(input.hyperparameters),
    [TRAINER_ENV.run]: input.run,
  };
}
