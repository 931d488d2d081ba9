/**
 * Operator input (SECURITY.md): what the person or process running mlform decides, through flags,
 * the environment and files outside the manifest tree. Nothing here is ever read from a manifest
 * or from the checkout: a commit cannot widen what it may touch.
 */
import { delimiter, resolve } from 'node:path';
import type { OptionDefinition } from './command.js';
import type { CommandPolicy } from '../../providers/local/sandbox.js';

export interface OperatorSettings {
  /**
   * The folder every file a manifest names must stay inside (data, the project file, manifests
   * themselves). Undefined: the tree root of the project (its git work tree when there is one,
   * else the folder of mlform.yaml). The controller sets it to its checkout.
   */
  treeRoot?: string;
  /** Extra folders data may be read from (`--allow-data-root`, `MLFORM_ALLOW_DATA_ROOTS`). */
  dataRoots: string[];
  /** Local provider state directory (`--state-dir`, `MLFORM_STATE_DIR`); overrides `local.stateDir`. */
  stateDir?: string;
  /** Operator policy file (`--policy`, `MLFORM_POLICY`). */
  policyFile?: string;
  /**
   * First port the local provider tries for a new endpoint (`MLFORM_BASE_PORT`; default 8501, 0:
   * any free port); NaN when the variable is set to something else (project.ts reports it).
   */
  basePort?: number;
  /** Commands from manifests (the controller's --allow-commands...); default: the environment's. */
  commands?: CommandPolicy;
}

export const OPERATOR_ENV = {
  dataRoots: 'MLFORM_ALLOW_DATA_ROOTS',
  stateDir: 'MLFORM_STATE_DIR',
  policy: 'MLFORM_POLICY',
  basePort: 'MLFORM_BASE_PORT',
} as const;

export interface OperatorFlags {
  allowDataRoot?: string[];
  stateDir?: string;
  policy?: string;
}

/** `--flag a --flag b` -> ['a', 'b']. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The flags every command that loads a project takes (after its own in `--help`). */
export const OPERATOR_OPTIONS: readonly OptionDefinition[] = [
  {
    flags: '--allow-data-root <dir>',
    description: `also allow data under this folder (repeatable; default from $${OPERATOR_ENV.dataRoots}, ${delimiter}-separated)`,
    parse: collect,
  },
  {
    flags: '--state-dir <dir>',
    description: `local provider state directory, overriding mlform.yaml's local.stateDir (default $${OPERATOR_ENV.stateDir})`,
  },
  {
    flags: '--policy <file>',
    description: `operator policy, YAML or JSON, kept outside the manifest tree: allowed regions, machine and GPU types, GPU, run, schedule and endpoint limits, data roots and buckets, prune/destroy (default $${OPERATOR_ENV.policy})`,
  },
];

const nonEmpty = (value: string | undefined): string | undefined =>
  value !== undefined && value.trim() !== '' ? value : undefined;

/** Flags first, then the environment; paths are made absolute against the working directory. */
export function operatorSettings(flags: OperatorFlags, env: NodeJS.ProcessEnv): OperatorSettings {
  const fromEnv = (nonEmpty(env[OPERATOR_ENV.dataRoots]) ?? '')
    .split(delimiter)
    .filter((p) => p.trim() !== '');
  const dataRoots = [...(flags.allowDataRoot ?? []), ...fromEnv].map((p) => resolve(p));
  const stateDir = nonEmpty(flags.stateDir) ?? nonEmpty(env[OPERATOR_ENV.stateDir]);
  const policyFile = nonEmpty(flags.policy) ?? nonEmpty(env[OPERATOR_ENV.policy]);
  const basePort = nonEmpty(env[OPERATOR_ENV.basePort]);
  return {
    dataRoots,
    stateDir: stateDir ? resolve(stateDir) : undefined,
    policyFile: policyFile ? resolve(policyFile) : undefined,
    ...(basePort !== undefined && { basePort: parseBasePort(basePort) }),
  };
}

/** 0 or a port from 1024 to 65535 (the ones an unprivileged server may bind), else NaN. */
function parseBasePort(value: string): number {
  const port = /^\d{1,5}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  return port === 0 || (port >= 1024 && port <= 65535) ? port : NaN;
}

/** For code paths with no flags (tests, the trainer): the environment alone. */
export const operatorFromEnv = (env: NodeJS.ProcessEnv = process.env): OperatorSettings =>
  operatorSettings({}, env);
