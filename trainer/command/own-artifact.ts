/**
 * The check an artifact of your own trainer passes before mlform writes its run.json (and so
 * before the run counts as succeeded): the contract files of artifact/contract.ts, bounded reads,
 * and nothing that points outside the folder. The artifact is written by code from a commit, so
 * anything the registry copies or a server opens must be a plain file or folder inside it.
 */
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { artifactProblem, checkArtifact } from '../../artifact/check.js';
import { CONTRACT_FILES } from '../../artifact/contract.js';
import { errorMessage } from '../../resources/error-message.js';

/** Most entries walked: an artifact is a model and a few JSON files, not a dataset. */
const MAX_ENTRIES = 10_000;

/** Symbolic links, devices, sockets: refused anywhere in the folder. */
async function strangeEntries(dir: string): Promise<string[]> {
  const out: string[] = [];
  let seen = 0;
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      if (++seen > MAX_ENTRIES) throw new Error(`more than ${MAX_ENTRIES} files`);
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else if (!entry.isFile()) out.push(path);
    }
  };
  await walk('');
  return out;
}

const isThere = async (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * Problems of the artifact in `dir`, none when it is complete: what `mlform artifact check` checks
 * (checkArtifact: metrics.json, artifact.json or the builtin files, the model inside the folder and
 * its inputs and outputs), plus what only a run's artifact must keep: no run.json (mlform writes
 * it), no links or special files.
 */
export async function validateOwnArtifact(dir: string): Promise<string[]> {
  const info = await lstat(dir).catch(() => undefined);
  if (!info?.isDirectory()) return [`the trainer wrote no artifact folder (AIP_MODEL_DIR ${dir})`];
  const problems: string[] = [];
  try {
    const strange = await strangeEntries(dir);
    if (strange.length > 0)
      problems.push(
        `links and special files are not allowed in an artifact: ${strange.slice(0, 5).join(', ')}`,
      );
  } catch (e) {
    problems.push(`the artifact folder: ${errorMessage(e)}`);
  }
  if (await isThere(join(dir, CONTRACT_FILES.run)))
    problems.push(`${CONTRACT_FILES.run} is written by mlform once the trainer succeeded; do not write it`);
  const checked = await checkArtifact(dir);
  problems.push(...checked.diagnostics.filter((d) => d.severity === 'error').map(artifactProblem));
  return problems;
}
