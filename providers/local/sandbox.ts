/**
 * Running a command from a manifest (a TrainingRun's `trainer.command`, a DeployedEndpoint's
 * `container.command`) on the operator's host. A commit is untrusted, so such a command runs only
 * where the operator allowed commands (never a manifest field), and inside bubblewrap: a
 * read-only root, the project tree read-only, only its own output folders writable, the state
 * folder, the operator's home and credentials and /run out of sight, its own /tmp, /proc and
 * /dev, a scrubbed environment (only what the request passes), and no network unless the manifest
 * asks for it and the operator allows it. Without bubblewrap it refuses, unless the operator opted
 * in to unconfined commands. SECURITY.md has the promises this keeps.
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve, sep } from 'node:path';

/** The operator's rules for commands from manifests (flags and environment, never a manifest). */
export interface CommandPolicy {
  /** Commands from manifests may run at all (`MLFORM_ALLOW_COMMANDS=1`, controller `--allow-commands`). */
  allowCommands: boolean;
  /** A command whose manifest asks for the network gets it (`MLFORM_ALLOW_COMMAND_NETWORK=1`). */
  allowNetwork: boolean;
  /** Where bubblewrap is missing, run unconfined instead of refusing (`MLFORM_ALLOW_UNSANDBOXED=1`). */
  allowUnsandboxed: boolean;
  /** The bubblewrap binary; default `bwrap` found on PATH. */
  bwrapPath?: string;
  /** More host paths no command sees: the controller's own folder and secret files. */
  hidden?: readonly string[];
}

export const COMMAND_POLICY_ENV = {
  allowCommands: 'MLFORM_ALLOW_COMMANDS',
  allowNetwork: 'MLFORM_ALLOW_COMMAND_NETWORK',
  allowUnsandboxed: 'MLFORM_ALLOW_UNSANDBOXED',
  bwrapPath: 'MLFORM_BWRAP',
} as const;

const truthy = (value: string | undefined): boolean => value !== undefined && /^(1|true|yes)$/i.test(value);

/** The policy from the operator's environment (the CLI); the controller adds its flags on top. */
export function commandPolicyFromEnv(env: Record<string, string | undefined>): CommandPolicy {
  return {
    allowCommands: truthy(env[COMMAND_POLICY_ENV.allowCommands]),
    allowNetwork: truthy(env[COMMAND_POLICY_ENV.allowNetwork]),
    allowUnsandboxed: truthy(env[COMMAND_POLICY_ENV.allowUnsandboxed]),
    ...(env[COMMAND_POLICY_ENV.bwrapPath] && { bwrapPath: env[COMMAND_POLICY_ENV.bwrapPath] }),
  };
}

/** The controller's flags on top of the environment: a flag given turns a switch on. */
export function commandPolicyWithFlags(
  flags: { allowCommands?: boolean; allowNetwork?: boolean; allowUnsandboxed?: boolean },
  env: Record<string, string | undefined>,
): CommandPolicy {
  const fromEnv = commandPolicyFromEnv(env);
  return {
    ...fromEnv,
    allowCommands: fromEnv.allowCommands || flags.allowCommands === true,
    allowNetwork: fromEnv.allowNetwork || flags.allowNetwork === true,
    allowUnsandboxed: fromEnv.allowUnsandboxed || flags.allowUnsandboxed === true,
  };
}

/** The policy as variables for a child (the local provider's `mlform train`): the inverse of the above. */
export function commandPolicyEnv(policy: CommandPolicy): Record<string, string> {
  return {
    [COMMAND_POLICY_ENV.allowCommands]: policy.allowCommands ? '1' : '0',
    [COMMAND_POLICY_ENV.allowNetwork]: policy.allowNetwork ? '1' : '0',
    [COMMAND_POLICY_ENV.allowUnsandboxed]: policy.allowUnsandboxed ? '1' : '0',
    ...(policy.bwrapPath !== undefined && { [COMMAND_POLICY_ENV.bwrapPath]: policy.bwrapPath }),
  };
}

export const NO_COMMANDS: CommandPolicy = {
  allowCommands: false,
  allowNetwork: false,
  allowUnsandboxed: false,
};

export interface SandboxRequest {
  /** Program and arguments, no shell. */
  argv: readonly string[];
  /** Working directory (inside a read-only or writable path). */
  cwd: string;
  /** Visible, read-only: the project tree, data roots the operator allowed. */
  readOnly: readonly string[];
  /** Visible, writable: the run's output, checkpoint and TensorBoard folders. */
  writable: readonly string[];
  /** Out of sight even when below a visible path: the state folder, credentials. */
  hidden: readonly string[];
  /** The whole environment inside (nothing is inherited). */
  env: Readonly<Record<string, string>>;
  /** The manifest asks for the network. */
  network: boolean;
  /** For messages: `TrainingRun/fare` etc. */
  what: string;
}

export type SandboxLaunch =
  /** `env` is the child's whole environment: spawn with exactly it, never merged with another. */
  | { ok: true; command: string; args: string[]; env: Record<string, string>; sandboxed: boolean }
  | { ok: false; code: string; message: string; hint: string };

/** Paths of the host that no command sees, on top of the request's own. */
export function hostSecrets(env: Record<string, string | undefined>): string[] {
  // Homes (keys, cloud and git credentials, the controller's default state folder), runtime
  // sockets (docker, dbus), host keys and password hashes, other users' shared temp files, logs.
  const out = ['/home', '/root', '/run', '/var/run', '/etc/ssh', '/etc/shadow', '/etc/gshadow'];
  out.push('/var/tmp', '/var/log', '/var/mail', '/var/spool', '/var/lib/docker');
  for (const name of [
    'HOME',
    'GOOGLE_APPLICATION_CREDENTIALS',
    'MLFORM_SECRETS_DIR',
    'CLOUDSDK_CONFIG',
    'XDG_CONFIG_HOME',
    'XDG_STATE_HOME',
    'XDG_RUNTIME_DIR',
    'KUBECONFIG',
    'DOCKER_CONFIG',
    'MLFORM_SERVER_TOKEN_FILE',
  ]) {
    const value = env[name];
    if (value && isAbsolute(value)) out.push(value);
  }
  return out;
}

/** `bwrap` on PATH or the operator's path, if it is an executable file. */
export function findBwrap(
  policy: CommandPolicy,
  env: Record<string, string | undefined>,
): string | undefined {
  const candidates = policy.bwrapPath
    ? [policy.bwrapPath]
    : (env.PATH ?? '/usr/bin:/bin').split(delimiter).map((dir) => join(dir, 'bwrap'));
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      if (statSync(path).isFile()) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

type Mount = { path: string; how: 'hide' | 'ro' | 'rw' };

const isFile = (path: string): boolean => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/** Where a path really is (bwrap cannot mount onto a symbolic link: `/var/run` -> `/run`); undefined if missing. */
const realPath = (path: string): string | undefined => {
  try {
    return realpathSync(resolve(path));
  } catch {
    return undefined;
  }
};

/**
 * bubblewrap arguments: mounts applied parents first, so a deeper rule wins (the state folder is
 * hidden inside the visible tree; the run's output folder is writable inside the hidden state).
 */
export function bwrapArgs(request: SandboxRequest): string[] {
  const all: Mount[] = [
    ...request.hidden.map((path) => ({ path: realPath(path), how: 'hide' as const })),
    ...request.readOnly.map((path) => ({ path: realPath(path), how: 'ro' as const })),
    ...request.writable.map((path) => ({ path: realPath(path), how: 'rw' as const })),
  ].filter((m): m is Mount => m.path !== undefined && m.path !== '/');
  // One rule per path: the most visible wins (a writable output inside a hidden folder).
  const byPath = new Map<string, Mount>();
  const rank = { hide: 0, ro: 1, rw: 2 };
  for (const m of all) {
    const seen = byPath.get(m.path);
    if (!seen || rank[m.how] > rank[seen.how]) byPath.set(m.path, m);
  }
  const mounts = [...byPath.values()];
  const depth = (p: string): number => p.split(sep).filter(Boolean).length;
  mounts.sort((a, b) => depth(a.path) - depth(b.path) || a.path.localeCompare(b.path));
  const args = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'];
  for (const m of mounts) {
    if (m.how === 'hide')
      args.push(...(isFile(m.path) ? ['--ro-bind', '/dev/null', m.path] : ['--tmpfs', m.path]));
    else args.push(m.how === 'ro' ? '--ro-bind' : '--bind', m.path, m.path);
  }
  // Every namespace of its own (user, pid, ipc, uts, cgroup, net), no capabilities even when the
  // operator runs mlform as root, killed with its supervisor, no controlling terminal to inject into.
  args.push('--unshare-all');
  if (request.network) args.push('--share-net');
  // The environment is not in these arguments (`--setenv` would put secret values in bwrap's
  // /proc/<pid>/cmdline, readable by every local user): bwrap is started with exactly the
  // request's environment and hands it on.
  args.push('--cap-drop', 'ALL', '--die-with-parent', '--new-session');
  args.push('--chdir', resolve(request.cwd), '--', ...request.argv);
  return args;
}

/** How to start the request's command under the policy, or why not. */
export function sandboxLaunch(
  policy: CommandPolicy,
  request: SandboxRequest,
  hostEnv: Record<string, string | undefined> = process.env,
): SandboxLaunch {
  if (!policy.allowCommands) {
    return {
      ok: false,
      code: 'command-not-allowed',
      message: `${request.what} runs a command from the manifest, and this operator has not allowed commands`,
      hint: `run it where you trust the commit: set ${COMMAND_POLICY_ENV.allowCommands}=1 (CLI) or start the controller with --allow-commands`,
    };
  }
  if (request.network && !policy.allowNetwork) {
    return {
      ok: false,
      code: 'command-network-not-allowed',
      message: `${request.what} asks for the network, and this operator has not allowed it`,
      hint: `set ${COMMAND_POLICY_ENV.allowNetwork}=1 (controller: --allow-command-network), or remove \`network: true\``,
    };
  }
  if (request.argv.length === 0 || !isAbsolute(resolve(request.cwd))) {
    return {
      ok: false,
      code: 'command-empty',
      message: `${request.what} has no command`,
      hint: 'set `command`',
    };
  }
  const bwrap = findBwrap(policy, hostEnv);
  if (bwrap) {
    const withHost = { ...request, hidden: [...hostSecrets(hostEnv), ...request.hidden] };
    return { ok: true, command: bwrap, args: bwrapArgs(withHost), env: { ...request.env }, sandboxed: true };
  }
  if (!policy.allowUnsandboxed) {
    return {
      ok: false,
      code: 'sandbox-missing',
      message: `${request.what} runs a command from the manifest, and bubblewrap (bwrap) is not installed to confine it`,
      hint: `install it (Debian: apt-get install bubblewrap), or accept running it unconfined with ${COMMAND_POLICY_ENV.allowUnsandboxed}=1`,
    };
  }
  const [command, ...args] = request.argv;
  return { ok: true, command: command ?? '', args, env: { ...request.env }, sandboxed: false };
}
