/**
 * The objectives a trial's artifact answers rather than its metrics.json: `parameters` (trainable
 * weights, counted from the shapes in model.json's weights manifest) and `modelBytes` (the bytes
 * of the weight files it lists). The artifact may sit under gs://, so everything goes through
 * artifact/storage.ts; and it is untrusted, so model.json is read bounded and checked with a
 * schema, and a weight file must be a plain relative name inside the artifact's directory.
 */
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ARTIFACT_LIMITS, maxWeightBytes } from '../../../artifact/limits.js';
import { declaredWeights } from '../../../artifact/model-size.js';
import { isRelativeFile, MODEL_JSON } from '../../../artifact/model-files.js';
import { joinUri, readBounded, storeFor } from '../../../artifact/storage.js';
import { errorMessage } from '../../../resources/error-message.js';
import type { ArtifactObjective } from '../../../resources/tuning-objective-checks.js';

const WeightsManifestSchema = Type.Object({
  weightsManifest: Type.Array(
    Type.Object({
      paths: Type.Array(Type.String()),
      weights: Type.Array(Type.Unknown()),
    }),
  ),
});

/** Reads the `wanted` objectives of the artifact in `artifactDir` (a path or gs:// URI). */
export async function modelObjectives(
  artifactDir: string,
  wanted: ReadonlySet<ArtifactObjective>,
): Promise<Partial<Record<ArtifactObjective, number>>> {
  if (wanted.size === 0) return {};
  const uri = joinUri(artifactDir, MODEL_JSON);
  let parsed: unknown;
  try {
    parsed = JSON.parse((await readBounded(uri, ARTIFACT_LIMITS.modelJsonBytes)).toString('utf8'));
  } catch (e) {
    throw new Error(
      `cannot read ${MODEL_JSON} for the objectives ${[...wanted].join(', ')}: ${errorMessage(e)}`,
    );
  }
  if (
    !Value.Check(WeightsManifestSchema, parsed) ||
    !parsed.weightsManifest.every((group) => group.paths.every(isRelativeFile))
  ) {
    throw new Error(`${uri} has no valid weightsManifest (relative weight file names and weight specs)`);
  }
  const manifest = parsed.weightsManifest;
  const out: Partial<Record<ArtifactObjective, number>> = {};
  const maxBytes = maxWeightBytes();
  // mlform's layers (Dense, LSTM, GRU) hold trainable weights only: every declared weight counts.
  if (wanted.has('parameters')) out.parameters = declaredWeights(manifest, maxBytes, uri).elements;
  if (wanted.has('modelBytes')) {
    let bytes = 0;
    for (const path of new Set(manifest.flatMap((group) => group.paths))) {
      const file = joinUri(artifactDir, path);
      const store = storeFor(file);
      bytes += store.size ? await store.size(file) : (await readBounded(file, maxBytes)).length;
    }
    out.modelBytes = bytes;
  }
  return out;
}
