/**
 * The controller's own folders: the workdir (state and checkouts) and the state directory. They
 * hold the leader lease, the run records and the checkouts, so whoever can put a folder (or a
 * symlink) where they go controls the controller. The default therefore lives under the user's
 * own state folder (`$XDG_STATE_HOME`, else `~/.local/state`), never in the world-writable temp
 * directory at a predictable name. It is the same for every replica and restart on the host that
 * follows the same source, so state survives restarts and the lease is shared.
 *
 * Every folder mlform creates is made one level at a time with mode 0700 (a planted symlink makes
 * `mkdir` fail rather than be followed) and then checked with `lstat`: a directory, not a link,
 * ours, writable by nobody else. A folder the operator names that already exists is checked the
 * same way, except that root may own it and its group may write it (Kubernetes volumes with an
 * `fsGroup`); a symlink, another user's folder or a world-writable one is refused.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { error, type Diagnostic } from '../../resources/diagnostic.js';

/** `$XDG_STATE_HOME/mlform/controller-<hash of the source>`, else under `~/.local/state`. */
export function defaultWorkDir(
  source: string,
  env: Record<string, string | undefined>,
): { base: string; dir: string } | { diagnostic: Diagnostic } {
  const id = createHash('sha256').update(source).digest('hex').slice(0, 12);
  const xdg = env.XDG_STATE_HOME;
  // The XDG spec: a relative XDG_STATE_HOME is invalid and ignored.
  if (xdg && isAbsolute(xdg)) return { base: xdg, dir: join(xdg, 'mlform', `controller-${id}`) };
  const home = env.HOME || safeHomedir();
  if (!home || !isAbsolute(home) || resolve(home) === sep) {
    return {
      diagnostic: error('workdir-default', 'no home folder to keep the controller state in by default', {
        hint: 'pass --workdir <dir> (a folder of your own), or set XDG_STATE_HOME or HOME',
      }),
    };
  }
  return { base: home, dir: join(home, '.local', 'state', 'mlform', `controller-${id}`) };
}

function safeHomedir(): string | undefined {
  try {
    return homedir();
  } catch {
    return undefined;
  }
}

export interface PrivateDirOptions {
  /** What the folder is, for messages: `--workdir`, `the state directory`. */
  what: string;
  /** How to choose another one, for the hint. */
  hint: string;
  /**
   * Existing folders from here down (exclusive) were chosen by the operator or by mlform: only the
   * ones below it are created and checked. Default: the deepest existing ancestor of `dir`.
   */
  base?: string;
  /** The operator named `dir` itself: an existing one may belong to root and be group-writable. */
  operatorGiven?: boolean;
  /**
   * Leave a missing `dir` itself to whoever fills it (the local provider marks a state folder it
   * creates with a `.gitignore`): only its missing parents are made here.
   */
  leaveLast?: boolean;
}

/**
 * Makes `dir` (and its missing parents below `base`) with mode 0700, or checks the existing one.
 * A diagnostic when it cannot be used; nothing is followed through a link.
 */
export async function ensurePrivateDir(
  dir: string,
  options: PrivateDirOptions,
): Promise<Diagnostic | undefined> {
  const target = resolve(dir);
  const given = options.base !== undefined ? resolve(options.base) : undefined;
  const base = given && (await lstat(given).catch(() => undefined)) ? given : await deepestExisting(target);
  if (base !== given) {
    // Not the operator's own base: the folder we create in must not be someone else's (a folder or
    // a link planted in /tmp by another user would decide where our folders really are).
    const problem = await parentProblem(base);
    if (problem) return refusal(options, `${base} ${problem}`);
  }
  const rel = relative(base, target);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    return refusal(options, `${target} is not below ${base}`);
  }
  const parts = rel === '' ? [] : rel.split(sep);
  let current = base;
  for (const [i, part] of parts.entries()) {
    current = join(current, part);
    const last = i === parts.length - 1;
    if (last && options.leaveLast && !(await lstat(current).catch(() => undefined))) break;
    let created = false;
    try {
      await mkdir(current, { mode: 0o700 });
      created = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        return refusal(options, `cannot create ${current}: ${(e as Error).message}`);
      }
    }
    const lenient = last && options.operatorGiven === true && !created;
    const problem = await ownProblem(current, lenient);
    if (problem) return refusal(options, `${current} ${problem}`);
  }
  if (parts.length === 0) {
    const problem = await ownProblem(target, options.operatorGiven === true);
    if (problem) return refusal(options, `${target} ${problem}`);
  }
  return undefined;
}

/**
 * Why `path` is not a folder only we control, or undefined. Lenient (an operator's existing
 * folder): root may own it and its group may write it.
 */
async function ownProblem(path: string, lenient: boolean): Promise<string | undefined> {
  const stats = await lstat(path).catch(() => undefined);
  if (!stats) return 'does not exist';
  if (stats.isSymbolicLink()) return 'is a symbolic link (it could lead anywhere another user chose)';
  if (!stats.isDirectory()) return 'is not a directory';
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid && !(lenient && stats.uid === 0)) {
    return `belongs to uid ${stats.uid}, not to this user (uid ${uid})`;
  }
  if (stats.mode & 0o002) return `is writable by every user (mode ${modeText(stats.mode)})`;
  if (!lenient && stats.mode & 0o020) return `is writable by its group (mode ${modeText(stats.mode)})`;
  return undefined;
}

/** A folder to create in: root's or ours (the link too, when it is one), whatever its mode. */
async function parentProblem(path: string): Promise<string | undefined> {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const link = await lstat(path).catch(() => undefined);
  const real = await stat(path).catch(() => undefined);
  if (!link || !real) return 'does not exist';
  if (!real.isDirectory()) return 'is not a directory';
  for (const found of [link, real]) {
    if (found.uid !== uid && found.uid !== 0)
      return `belongs to uid ${found.uid}, not to this user (uid ${uid})`;
  }
  return undefined;
}

const modeText = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

async function deepestExisting(path: string): Promise<string> {
  let current = dirname(path);
  while (!(await lstat(current).catch(() => undefined)) && dirname(current) !== current) {
    current = dirname(current);
  }
  return current;
}

function refusal(options: PrivateDirOptions, message: string): Diagnostic {
  return error('workdir-unsafe', `${options.what}: ${message}`, { hint: options.hint });
}
