/**
 * The git commit of the manifests a run came from, for registry lineage. The trainer records it
 * only when it reads a manifest file itself; the local provider hands it the spec as JSON, so the
 * provider looks the commit up when it creates the run (both providers: the local one records it,
 * the gcp one passes it to the job as MLFORM_GIT_COMMIT).
 *
 * The controller knows the commit it checked out (`ctx.sourceRevision`) and no git runs at all.
 * Otherwise git reads the repository holding the tree root with an explicit `--git-dir` and every
 * configured program off (trainer/git-commit.ts), never a repository git would discover in a
 * folder of the tree.
 */
import { dirname, resolve } from 'node:path';
import { gitCommitAt } from '../trainer/git-commit.js';
import type { ProviderContext } from './provider.js';

/** `<sha>` or `<sha>-dirty` (the manifest differs from the commit); undefined outside a git repository. */
export async function gitCommitOf(ctx: ProviderContext, manifestPath: string): Promise<string | undefined> {
  if (ctx.sourceRevision !== undefined) return ctx.sourceRevision;
  const manifest = resolve(ctx.projectDir, manifestPath);
  // Without a tree root (a caller that gives none), the repository at or above the manifest's
  // folder: found by `.git` entries only, as the loader finds the tree root.
  return gitCommitAt(ctx.treeRoot ?? dirname(manifest), manifest);
}
