/**
 * The git commit of the manifests a run came from, for registry lineage. The trainer records it
 * only when it reads a manifest file itself; the local provider hands it the spec as JSON, so the
 * provider looks the commit up when it creates the run.
 */
import { execFile } from 'node:child_process';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `<sha>` or `<sha>-dirty` (the manifest has local changes); undefined outside a git tree. */
export async function gitCommitOf(manifestPath: string): Promise<string | undefined> {
  const cwd = dirname(manifestPath);
  try {
    const { stdout: head } = await run('git', ['rev-parse', 'HEAD'], { cwd, timeout: 5_000 });
    const { stdout: status } = await run('git', ['status', '--porcelain', '--', manifestPath], {
      cwd,
      timeout: 5_000,
    });
    return `${head.trim()}${status.trim() ? '-dirty' : ''}`;
  } catch {
    return undefined;
  }
}
