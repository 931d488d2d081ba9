/**
 * `mlform check` on a local project: the state directory takes a file, and bubblewrap is there
 * when the operator allows commands from manifests. Nothing else is needed: trainings and servers
 * are processes on this machine.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { errorMessage } from '../../resources/error-message.js';
import type { CheckResult } from '../gcp/preflight.js';
import { COMMAND_POLICY_ENV, commandPolicyFromEnv, findBwrap } from './sandbox.js';

export async function localPreflight(
  stateDir: string,
  env: Record<string, string | undefined>,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const probe = join(stateDir, `check-${randomUUID()}`);
  try {
    await mkdir(stateDir, { recursive: true });
    await writeFile(probe, 'mlform check');
    await rm(probe);
    results.push({ name: 'state directory', status: 'pass', detail: `${stateDir} is writable` });
  } catch (e) {
    results.push({
      name: 'state directory',
      status: 'fail',
      detail: `${stateDir} is not writable: ${errorMessage(e)}`,
      fix: `give this user write access to ${stateDir}, or choose another with --state-dir (MLFORM_STATE_DIR)`,
    });
  }
  const policy = commandPolicyFromEnv(env);
  if (!policy.allowCommands) {
    results.push({
      name: 'bubblewrap',
      status: 'skip',
      detail: `commands from manifests are not allowed (${COMMAND_POLICY_ENV.allowCommands} unset), so none is confined`,
    });
  } else {
    const bwrap = findBwrap(policy, env);
    results.push(
      bwrap
        ? { name: 'bubblewrap', status: 'pass', detail: `${bwrap} confines commands from manifests` }
        : {
            name: 'bubblewrap',
            status: policy.allowUnsandboxed ? 'warn' : 'fail',
            detail: policy.allowUnsandboxed
              ? `bwrap not found: commands run unconfined (${COMMAND_POLICY_ENV.allowUnsandboxed}=1)`
              : 'bwrap not found: commands from manifests are refused',
            fix: 'install it (Debian: apt-get install bubblewrap)',
          },
    );
  }
  results.push({
    name: 'cloud',
    status: 'pass',
    detail: 'nothing else is needed: trainings and servers run as processes on this machine',
  });
  return results;
}
