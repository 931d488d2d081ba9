/**
 * The loader's trust boundary (SECURITY.md, points 3 and 4): manifest files, the project file and
 * the local files manifests name must resolve inside the tree root, or, for data, inside a folder
 * the operator allowed. The roots come from the operator (flags, environment, the controller's
 * checkout) or from where mlform.yaml is; never from a manifest.
 */
import { dirname, resolve } from 'node:path';
import { error, type Diagnostic } from '../resources/diagnostic.js';
import { displayPath } from './collect-files.js';
import { rememberLoadedFile } from './loaded-files.js';
import { findTreeRoot, isInside, realLocation } from './tree-root.js';

export interface TrustRoots {
  /** The tree root as the operator or the project's location gave it. */
  treeRoot: string;
  /** Its realpath: what every file's realpath is compared with. */
  realTreeRoot: string;
  /** Realpaths of the folders, besides the tree root, that data may be read from. */
  realDataRoots: string[];
}

/**
 * `treeRoot` when the operator gave one; else the tree root of `anchor`, the folder of mlform.yaml
 * (or of the first path given when there is no project file).
 */
export async function resolveTrustRoots(
  given: { treeRoot?: string; dataRoots?: readonly string[] } | undefined,
  anchor: string,
): Promise<TrustRoots> {
  const treeRoot = given?.treeRoot ? resolve(given.treeRoot) : await findTreeRoot(anchor);
  const realDataRoots = await Promise.all((given?.dataRoots ?? []).map((d) => realLocation(d)));
  return { treeRoot, realTreeRoot: await realLocation(treeRoot), realDataRoots };
}

/**
 * Drops the files whose path is in the tree but whose target is not (a symbolic link, or a link
 * among its folders, pointing out), each with a diagnostic; such a file is never opened. Files the
 * operator named outside the tree are theirs to name. Two paths to one file are read once. The
 * files kept are the ones code frames may quote (`loaded-files.ts`).
 */
export async function keepFilesInTree(
  files: readonly string[],
  roots: TrustRoots,
  diagnostics: Diagnostic[],
): Promise<string[]> {
  const kept: string[] = [];
  const seen = new Set<string>();
  const reals = await Promise.all(files.map((file) => realLocation(file)));
  for (const [i, file] of files.entries()) {
    const real = reals[i];
    if (isInside(resolve(file), roots.treeRoot) && !isInside(real, roots.realTreeRoot)) {
      diagnostics.push(symlinkOutsideTree(file, real, roots));
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    kept.push(file);
    rememberLoadedFile(file, real);
  }
  return kept;
}

function symlinkOutsideTree(file: string, real: string, roots: TrustRoots): Diagnostic {
  const shown = displayPath(file);
  // No line: a code frame would print the target's first line, which is what the link is after.
  return error(
    'symlink-outside-tree',
    `${shown} is a symbolic link to a file in ${dirname(real)}, outside the manifest tree (${roots.treeRoot}); it was not read`,
    {
      file: shown,
      hint: 'replace the link with the file itself, or link only to files inside the repository',
    },
  );
}

export type LocalFileCheck = { ok: true; real: string } | { ok: false; real: string };

/** Whether a local file a manifest names resolves inside the tree root or an allowed data root. */
export async function checkLocalFile(path: string, roots: TrustRoots): Promise<LocalFileCheck> {
  const real = await realLocation(path);
  const allowed = [roots.realTreeRoot, ...roots.realDataRoots].some((root) => isInside(real, root));
  return { ok: allowed, real };
}
