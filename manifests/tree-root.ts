/**
 * The tree root: the folder a project's files must stay inside (SECURITY.md). Everything under it
 * may be written by whoever can push a commit, so every file the loader reads, and every local file
 * a manifest names, must resolve inside it (or inside a folder the operator allowed).
 *
 * Found with `stat` only, never by running git: git run inside the tree could discover a bare
 * repository committed there (a folder with HEAD, objects/ and refs/) and run what its config
 * says (`core.fsmonitor`).
 */
import { lstat, readlink, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * The nearest ancestor of `folder` (inclusive) holding a `.git` entry (a folder in a clone, a file
 * in a worktree or submodule), else `folder` itself.
 */
export async function findTreeRoot(folder: string): Promise<string> {
  const start = resolve(folder);
  for (let dir = start; ; dir = dirname(dir)) {
    if (await stat(join(dir, '.git')).catch(() => undefined)) return dir;
    if (dirname(dir) === dir) return start;
  }
}

/**
 * Where `path` really is: its realpath, or for a path that does not exist (yet), the realpath of
 * its deepest existing ancestor joined with the rest. `..` segments are collapsed lexically first,
 * exactly as the reader (`path.resolve`) does before it opens the file. A dangling link counts as
 * where it points: the file could appear there later.
 */
export async function realLocation(path: string, hops = 0): Promise<string> {
  const missing: string[] = [];
  for (let current = resolve(path); ; current = dirname(current)) {
    try {
      return join(await realpath(current), ...missing.reverse());
    } catch {
      const link = await lstat(current).catch(() => undefined);
      if (link?.isSymbolicLink() && hops < MAX_LINK_HOPS) {
        const target = resolve(dirname(current), await readlink(current));
        return realLocation(join(target, ...missing.reverse()), hops + 1);
      }
      if (dirname(current) === current) return resolve(path);
      missing.push(basename(current));
    }
  }
}

/** As the kernel's ELOOP limit: a longer chain of links is a loop, and cannot be opened. */
const MAX_LINK_HOPS = 40;

/** Whether `path` is `root` or below it; both absolute and already real. */
export function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
