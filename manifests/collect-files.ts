/** Turning the paths a user gives into the manifest files and the project file to read. */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { error, warning, type Diagnostic } from '../resources/diagnostic.js';
import { PROJECT_FILE_NAMES } from '../resources/project.js';
import { findTreeRoot, isInside } from './tree-root.js';

export interface CollectedFiles {
  manifests: string[];
  projectFiles: string[];
  diagnostics: Diagnostic[];
}

const MANIFEST_EXTENSIONS = /\.ya?ml$/i;
/** Never descend into these: dependencies, VCS data, the local provider's state, build output. */
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'schemas']);

export const isProjectFile = (file: string): boolean =>
  (PROJECT_FILE_NAMES as readonly string[]).includes(basename(file));

export interface CollectOptions {
  /**
   * The operator's tree root: the search for mlform.yaml above the paths stops there, so a file
   * above the checkout is never taken for the project's.
   */
  stopAt?: string;
}

/**
 * Symbolic links are collected like files (by their own path); `load.ts` then refuses those that
 * resolve outside the tree before anything is read.
 */
export async function collectFiles(
  paths: readonly string[],
  options: CollectOptions = {},
): Promise<CollectedFiles> {
  const manifests = new Set<string>();
  const projectFiles = new Set<string>();
  const diagnostics: Diagnostic[] = [];
  for (const given of paths) {
    const abs = resolve(given);
    let info;
    try {
      info = await stat(abs);
    } catch {
      diagnostics.push(error('path-not-found', `no such file or directory: ${given}`, { file: given }));
      continue;
    }
    if (info.isDirectory()) {
      await walk(abs, manifests, projectFiles);
    } else if (isProjectFile(abs)) {
      projectFiles.add(abs);
    } else {
      // A file named explicitly is read whatever its extension (YAML is a superset of JSON).
      manifests.add(abs);
    }
  }
  if (projectFiles.size === 0 && paths.length > 0) {
    const found = await findProjectFileAbove(resolve(paths[0]), options.stopAt);
    if (found) projectFiles.add(found);
  }
  if (manifests.size === 0 && diagnostics.length === 0) {
    diagnostics.push(
      warning('no-manifests', `no manifest files (*.yaml, *.yml) found in ${paths.join(', ')}`, {
        hint: 'manifests have `apiVersion: mlform/v1` and a `kind`; see examples/quickstart',
      }),
    );
  }
  return { manifests: [...manifests].sort(), projectFiles: [...projectFiles].sort(), diagnostics };
}

/** Folders are kept on a list, not on the call stack: a commit decides how deep they go. */
async function walk(root: string, manifests: Set<string>, projectFiles: Set<string>): Promise<void> {
  const pending = [root];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.') && !SKIPPED_DIRS.has(entry.name)) pending.push(full);
      } else if (
        MANIFEST_EXTENSIONS.test(entry.name) &&
        (entry.isFile() || (entry.isSymbolicLink() && (await stat(full).catch(() => undefined))?.isFile()))
      ) {
        if (isProjectFile(full)) projectFiles.add(full);
        else manifests.add(full);
      }
    }
  }
}

/**
 * The nearest project file in the path's folder or its ancestors, like git finds .git, but never
 * above the tree root: the operator's (`stopAt`), else the repository root (the nearest folder
 * holding `.git`), else the start folder. A tree without mlform.yaml therefore has no project file,
 * rather than one planted by someone else in a folder above it (the temp directory, a home).
 */
async function findProjectFileAbove(start: string, stopAt?: string): Promise<string | undefined> {
  const first = (await stat(start).catch(() => undefined))?.isDirectory() ? start : dirname(start);
  const bound = stopAt === undefined ? await findTreeRoot(first) : resolve(stopAt);
  for (let dir = first; ; dir = dirname(dir)) {
    for (const name of PROJECT_FILE_NAMES) {
      const candidate = join(dir, name);
      if ((await stat(candidate).catch(() => undefined))?.isFile()) return candidate;
    }
    const parent = dirname(dir);
    if (dir === bound || parent === dir || !isInside(parent, bound)) return undefined;
  }
}

/** Paths in messages are relative to the working directory, as compilers print them. */
export const displayPath = (file: string): string => {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
};
