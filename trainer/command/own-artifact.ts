/**
 * The check an artifact of your own trainer passes before mlform writes its run.json (and so
 * before the run counts as succeeded): the contract files of artifact/contract.ts, bounded reads,
 * and nothing that points outside the folder. The artifact is written by code from a commit, so
 * anything the registry copies or a server opens must be a plain file or folder inside it.
 */
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import {
  ArtifactDescriptorSchema,
  CONTRACT_FILES,
  ContractMetricsSchema,
  DEFAULT_MODEL_PATH,
  type ArtifactDescriptor,
} from '../../artifact/contract.js';
import { ARTIFACT_FILES } from '../../artifact/files.js';
import { ARTIFACT_LIMITS } from '../../artifact/limits.js';
import { readBounded } from '../../artifact/storage.js';
import { errorMessage } from '../../resources/error-message.js';
import { checkValue } from '../../providers/local/state-dir.js';

/** Most entries walked: an artifact is a model and a few JSON files, not a dataset. */
const MAX_ENTRIES = 10_000;

async function readJson(dir: string, name: string): Promise<{ value?: unknown; problem?: string }> {
  try {
    const bytes = await readBounded(join(dir, name), ARTIFACT_LIMITS.jsonBytes, name);
    return { value: JSON.parse(bytes.toString('utf8')) as unknown };
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    return { problem: missing ? `${name} is missing` : `${name}: ${errorMessage(e)}` };
  }
}

/** The first mismatch with the schema (ajv: the contract's schemas use plain JSON Schema enums). */
function schemaProblems(schema: TSchema, value: unknown, name: string): string[] {
  const checked = checkValue(value, schema, name, name);
  return checked.status === 'ok' ? [] : [checked.status === 'corrupt' ? checked.diagnostic.message : name];
}

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
 * Problems of the artifact in `dir`, none when it is complete: metrics.json per
 * ContractMetricsSchema; artifact.json per ArtifactDescriptorSchema with its model present, or
 * else the builtin trainer's files; no run.json (mlform writes it); no links or special files.
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
  const metrics = await readJson(dir, CONTRACT_FILES.metrics);
  if (metrics.problem) problems.push(metrics.problem);
  else problems.push(...schemaProblems(ContractMetricsSchema, metrics.value, CONTRACT_FILES.metrics));

  if (await isThere(join(dir, CONTRACT_FILES.descriptor))) {
    const descriptor = await readJson(dir, CONTRACT_FILES.descriptor);
    if (descriptor.problem) return [...problems, descriptor.problem];
    const found = schemaProblems(ArtifactDescriptorSchema, descriptor.value, CONTRACT_FILES.descriptor);
    problems.push(...found);
    if (found.length === 0) {
      const d = descriptor.value as ArtifactDescriptor;
      const model = d.model ?? DEFAULT_MODEL_PATH[d.format];
      if (model !== undefined && !(await isThere(join(dir, model))))
        problems.push(`${CONTRACT_FILES.descriptor}: its model ${model} is not in the artifact`);
    }
  } else {
    const builtin = [ARTIFACT_FILES.model, ARTIFACT_FILES.preprocess];
    const missing = [];
    for (const name of builtin) if (!(await isThere(join(dir, name)))) missing.push(name);
    if (missing.length > 0)
      problems.push(
        `no ${CONTRACT_FILES.descriptor}, and not the builtin trainer's files (missing ${missing.join(', ')}): write ${CONTRACT_FILES.descriptor} (docs/artifact.md)`,
      );
  }
  return problems;
}
