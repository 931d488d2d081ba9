/**
 * artifact.json as the model server reads it: absent means the builtin trainer's files (tfjs);
 * present, it must match the contract (artifact/contract.ts) or the version fails to load with a
 * sentence naming the field. It is attacker-written like the rest of the artifact: size-limited
 * before it is read, and its `model` path is a relative path the schema keeps inside the folder.
 */
import AjvModule from 'ajv';
import {
  ArtifactDescriptorSchema,
  CONTRACT_FILES,
  DEFAULT_MODEL_PATH,
  type ArtifactDescriptor,
} from '../artifact/contract.js';
import { ARTIFACT_FILES } from '../artifact/files.js';
import { ARTIFACT_LIMITS } from '../artifact/limits.js';
import { joinUri, readBounded, storeFor } from '../artifact/storage.js';
import { errorMessage } from '../resources/error-message.js';
import { toJsonSchema } from '../resources/schema-helpers.js';
import { ArtifactError } from './artifact-error.js';

// ajv ships CommonJS with a default export; under NodeNext the constructor sits on `.default`.
const Ajv = AjvModule.default;
// StringEnum is a plain JSON Schema enum (Type.Unsafe), which TypeBox's own checker cannot run.
const validate = new Ajv({ allErrors: false, strict: false }).compile<ArtifactDescriptor>(
  toJsonSchema(ArtifactDescriptorSchema),
);

/** The artifact's artifact.json, or undefined when it has none. */
export async function readDescriptor(uri: string): Promise<ArtifactDescriptor | undefined> {
  const file = joinUri(uri, CONTRACT_FILES.descriptor);
  let bytes: Buffer;
  try {
    if (!(await storeFor(file).exists(file))) return undefined;
    bytes = await readBounded(file, ARTIFACT_LIMITS.jsonBytes);
  } catch (e) {
    throw new ArtifactError(`cannot read ${file}: ${errorMessage(e)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new ArtifactError(`${file} is not JSON: ${errorMessage(e)}`);
  }
  return checkDescriptor(value, file);
}

/** The descriptor, or an ArtifactError naming the first field at fault. */
export function checkDescriptor(value: unknown, file: string): ArtifactDescriptor {
  if (validate(value)) return value;
  const first = validate.errors?.[0];
  const path = (first?.instancePath ?? '').slice(1).replaceAll('/', '.');
  const extra =
    first?.keyword === 'additionalProperties'
      ? ` "${String((first.params as { additionalProperty?: string }).additionalProperty)}"`
      : first?.keyword === 'enum'
        ? ` (${(first.params as { allowedValues?: unknown[] }).allowedValues?.join(', ')})`
        : '';
  throw new ArtifactError(
    `${file}: ${path || '(the file)'}: ${first?.message ?? 'does not match the artifact contract'}${extra} (see docs/artifact.md)`,
  );
}

/**
 * The files `mlform serve` loads from an artifact folder, for a launcher to check before it starts
 * a server (providers/local): the builtin trainer's three, or artifact.json and the ONNX model
 * (and preprocess.json when artifact.json says `encoded`). An artifact.json that does not parse
 * or names another format only needs to exist: the server's load failure says what is wrong.
 */
export async function servedFiles(uri: string): Promise<string[]> {
  const builtin = [ARTIFACT_FILES.model, ARTIFACT_FILES.weights, ARTIFACT_FILES.preprocess];
  let descriptor: ArtifactDescriptor | undefined;
  try {
    descriptor = await readDescriptor(uri);
  } catch {
    return [CONTRACT_FILES.descriptor];
  }
  if (!descriptor || descriptor.format === 'tfjs') return builtin;
  if (descriptor.format !== 'onnx') return [CONTRACT_FILES.descriptor];
  return [
    CONTRACT_FILES.descriptor,
    descriptor.model ?? (DEFAULT_MODEL_PATH.onnx as string),
    ...(descriptor.input?.kind === 'encoded' ? [CONTRACT_FILES.preprocess] : []),
  ];
}
