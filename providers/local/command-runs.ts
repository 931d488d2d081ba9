/**
 * What the local provider adds for a TrainingRun with `trainer.command` (trainer/command/): the
 * operator's command policy and the folders to hide, passed to the supervisor through its
 * environment (never taken from the manifest), and the plan-time refusals of a command this
 * operator would not run.
 */
import { dirname } from 'node:path';
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import { isSecretRef, type Env } from '../../resources/secret-ref.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { reservedEnvDiagnostics } from '../../trainer/command/env.js';
import { MANIFEST_DIR_ENV, SANDBOX_HIDE_ENV } from '../../trainer/command/supervise.js';
import { SECRETS_DIR_ENV, secretEnvName } from '../../trainer/secrets.js';
import type { ValidateResource } from '../provider.js';
import { commandPolicyEnv, COMMAND_POLICY_ENV, findBwrap, type CommandPolicy } from './sandbox.js';

const specOf = (spec: unknown): TrainingRunSpec | undefined =>
  spec !== null && typeof spec === 'object' && 'trainer' in spec ? (spec as TrainingRunSpec) : undefined;

/** The variables of `mlform train` for a command run; none for a builtin one. */
export function commandLaunchEnv(
  policy: CommandPolicy,
  spec: unknown,
  manifestPath: string,
  stateDir: string,
  hostEnv: Record<string, string | undefined> = process.env,
): Record<string, string> {
  const trainer = specOf(spec)?.trainer;
  if (!trainer?.command) return {};
  const out: Record<string, string> = {
    ...commandPolicyEnv(policy),
    [SANDBOX_HIDE_ENV]: JSON.stringify([stateDir]),
    [MANIFEST_DIR_ENV]: dirname(manifestPath),
  };
  // The secret sources of the references this manifest makes, and no other secret.
  const secretsDir = hostEnv[SECRETS_DIR_ENV];
  if (secretsDir) out[SECRETS_DIR_ENV] = secretsDir;
  for (const value of Object.values((trainer.env ?? {}) as Env)) {
    if (!isSecretRef(value)) continue;
    const name = secretEnvName(value.secretRef);
    const found = hostEnv[name];
    if (found !== undefined) out[name] = found;
  }
  return out;
}

/**
 * Plan-time errors on `spec.trainer.command`: commands not allowed, the network asked for and not
 * allowed, no bubblewrap and no opt-in to unconfined commands; `trainer.env` naming what mlform sets.
 */
export function validateCommands(
  policy: CommandPolicy,
  resources: readonly ValidateResource[],
  hostEnv: Record<string, string | undefined> = process.env,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const resource of resources) {
    if (resource.kind !== 'TrainingRun') continue;
    const trainer = specOf((resource.manifest as { spec?: unknown }).spec)?.trainer;
    if (!trainer?.command) continue;
    const at = {
      address: resource.address,
      file: resource.source.file,
      line: resource.source.line,
      col: resource.source.col,
    };
    const command = ['spec', 'trainer', 'command'];
    if (!policy.allowCommands) {
      out.push(
        error(
          'command-not-allowed',
          `${resource.address} runs a command from the manifest, and this operator has not allowed commands`,
          {
            ...at,
            path: command,
            hint: `where you trust the commit: ${COMMAND_POLICY_ENV.allowCommands}=1 (CLI) or controller --allow-commands; it runs in a bubblewrap sandbox (SECURITY.md)`,
          },
        ),
      );
      continue;
    }
    if (trainer.network && !policy.allowNetwork) {
      out.push(
        error(
          'command-network-not-allowed',
          `${resource.address} asks for the network, and this operator has not allowed it`,
          {
            ...at,
            path: ['spec', 'trainer', 'network'],
            hint: `${COMMAND_POLICY_ENV.allowNetwork}=1 (controller: --allow-command-network), or remove \`network: true\``,
          },
        ),
      );
    }
    if (!policy.allowUnsandboxed && findBwrap(policy, hostEnv) === undefined) {
      out.push(
        error(
          'sandbox-missing',
          `${resource.address} runs a command, and bubblewrap (bwrap) is not installed to confine it`,
          {
            ...at,
            path: command,
            hint: `install it (Debian: apt-get install bubblewrap${policy.bwrapPath ? `; ${COMMAND_POLICY_ENV.bwrapPath}=${policy.bwrapPath} is not an executable` : ''}), or accept unconfined commands: ${COMMAND_POLICY_ENV.allowUnsandboxed}=1 (controller: --allow-unsandboxed-commands)`,
          },
        ),
      );
    }
    out.push(...reservedEnvDiagnostics(trainer.env).map((d) => ({ ...d, ...at })));
  }
  return out;
}
