/**
 * Where a project may keep its local state: `local.stateDir` comes from the manifests, which are
 * untrusted (SECURITY.md), so it must resolve inside the project folder, after symbolic links.
 * The operator's `--state-dir` / `MLFORM_STATE_DIR` is not checked here: it may be anywhere.
 */
import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { lexicalStateDirEscape, type StateDirEscape } from '../../resources/project.js';

/** The realpath of `path`, or of its deepest existing ancestor with the rest appended. */
async function realpathOfDeepest(path: string): Promise<string> {
  const rest: string[] = [];
  let current = path;
  for (;;) {
    try {
      return resolve(await realpath(current), ...rest.reverse());
    } catch {
      const parent = dirname(current);
      if (parent === current) return path;
      rest.push(current.slice(parent.length).replace(/^[/\\]+/, ''));
      current = parent;
    }
  }
}

const isStrictlyInside = (child: string, parent: string): boolean => {
  const rel = relative(parent, child);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
};

/** Why `stateDir` (relative to `projectDir`) may not be used, or undefined when it may. */
export async function stateDirEscape(
  projectDir: string,
  stateDir: string,
): Promise<{ escape: StateDirEscape; detail?: string } | undefined> {
  const lexical = lexicalStateDirEscape(stateDir);
  if (lexical) return { escape: lexical };
  const root = await realpathOfDeepest(resolve(projectDir));
  const target = await realpathOfDeepest(resolve(projectDir, stateDir));
  if (isStrictlyInside(target, root)) return undefined;
  return { escape: 'symlink', detail: `it resolves to ${target}` };
}

/** Whether `path` is `root` or inside it, after symbolic links (the controller's checkout check). */
export async function isWithin(path: string, root: string): Promise<boolean> {
  const target = await realpathOfDeepest(resolve(path));
  const base = await realpathOfDeepest(resolve(root));
  return target === base || isStrictlyInside(target, base);
}
