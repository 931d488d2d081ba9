/**
 * Makes the run's directory a normal artifact: the best trial's files are copied byte for byte
 * (no retraining, so the served model is exactly the one that was measured), and run.json is
 * rewritten for the tuned run itself: its spec (with `tuning`) and spec hash, the whole search's
 * timings, the best trial's data and backend. Works for local paths and gs:// alike.
 */
import { relative } from 'node:path';
import { ARTIFACT_FILES, readJsonFile, writeJsonFile, type RunFile } from '../../artifact/files.js';
import { isGcsUri, joinUri, storeFor } from '../../artifact/storage.js';
import { STATISTICS_FILE } from '../../monitoring/statistics.js';

/** Artifact files copied as they are; run.json is written by promoteArtifact, last. */
const COPIED_FILES = [
  ARTIFACT_FILES.model,
  ARTIFACT_FILES.weights,
  ARTIFACT_FILES.preprocess,
  ARTIFACT_FILES.metrics,
  ARTIFACT_FILES.history,
];
/** Copied when the trial wrote them (a trial of an older trainer has no statistics.json). */
const OPTIONAL_FILES = [STATISTICS_FILE];

async function copyObject(from: string, to: string): Promise<void> {
  await storeFor(to).write(to, await storeFor(from).read(from));
}

/** Path of `uri` below `prefix`, with '/' separators (a local path or a gs:// object). */
function below(prefix: string, uri: string): string[] {
  const rest = isGcsUri(uri) ? uri.slice(prefix.replace(/\/+$/, '').length + 1) : relative(prefix, uri);
  return rest.split(/[\\/]/);
}

export interface PromoteOptions {
  /** The best trial's artifact directory. */
  fromDir: string;
  /** The run's artifact directory. */
  toDir: string;
  /** Fields of the run's own run.json that replace the trial's. */
  run: Pick<RunFile, 'specHash' | 'spec' | 'startedAt' | 'finishedAt' | 'seconds'> & { name?: string };
}

export async function promoteArtifact({ fromDir, toDir, run }: PromoteOptions): Promise<void> {
  // A run.json left by an earlier search in this directory would vouch for a half-copied artifact.
  const runUri = joinUri(toDir, ARTIFACT_FILES.run);
  await storeFor(runUri).remove(runUri);
  for (const file of COPIED_FILES) await copyObject(joinUri(fromDir, file), joinUri(toDir, file));
  for (const file of OPTIONAL_FILES) {
    const from = joinUri(fromDir, file);
    if (await storeFor(from).exists(from)) await copyObject(from, joinUri(toDir, file));
  }
  const tensorboard = joinUri(fromDir, ARTIFACT_FILES.tensorboard);
  for (const uri of await storeFor(tensorboard).list(tensorboard)) {
    await copyObject(uri, joinUri(toDir, ARTIFACT_FILES.tensorboard, ...below(tensorboard, uri)));
  }
  const trialRun = (await readJsonFile(fromDir, ARTIFACT_FILES.run)) as RunFile;
  const { formatVersion, name: _trialName, ...inherited } = trialRun;
  const runFile: RunFile = {
    formatVersion,
    ...(run.name !== undefined && { name: run.name }),
    ...inherited,
    specHash: run.specHash,
    spec: run.spec,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    seconds: run.seconds,
  };
  // run.json last: its presence means the artifact is complete (as in run-training.ts).
  await writeJsonFile(toDir, ARTIFACT_FILES.run, runFile);
}
