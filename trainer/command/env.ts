/**
 * The environment and arguments of your own trainer (`trainer.command`): a fixed, small set of
 * variables, never the supervisor's own (which holds the operator's credentials and policy), plus
 * the manifest's `trainer.env` with its secret references resolved from the operator's sources.
 */
import { TRAINER_ENV } from '../../artifact/contract.js';
import { error, type Diagnostic } from '../../resources/diagnostic.js';

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

export type HyperparameterValues = Record<string, number | string | boolean>;

/** `{lr: 0.01, epochs: 5}` -> `['--lr=0.01', '--epochs=5']`, in the manifest's order. */
export const hyperparameterArgs = (values: HyperparameterValues | undefined): string[] =>
  Object.entries(values ?? {}).map(([name, value]) => `--${name}=${String(value)}`);

/** Errors for `trainer.env` names mlform sets itself (plan time and again at launch). */
export function reservedEnvDiagnostics(env: Record<string, unknown> | undefined): Diagnostic[] {
  return Object.keys(env ?? {})
    .filter((name) => RESERVED_ENV_NAMES.includes(name))
    .map((name) =>
      error('trainer-env-reserved', `spec.trainer.env.${name} is set by mlform itself`, {
        path: ['spec', 'trainer', 'env', name],
        hint: `remove it; mlform sets ${RESERVED_ENV_NAMES.join(', ')} for every trainer`,
      }),
    );
}

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
    [TRAINER_ENV.hyperparameters]: JSON.stringify(input.hyperparameters ?? {}),
    [TRAINER_ENV.run]: input.run,
  };
}
