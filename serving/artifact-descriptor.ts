/**
 * artifact.json as the model server reads it: absent means the builtin trainer's files (tfjs);
 * present, it must match the contract (artifact/contract.ts) or the version fails to load with a
 * sentence naming the field. It is attacker-written like the rest of the artifact: size-limited
 * before it is read, and its `model` path is a relative path the schema keeps inside the folder.
 */
import AjvModule from 'ajv';
import { ArtifactDescriptorSchema, CONTRACT_FILES, type ArtifactDescriptor } from '../artifact/contract.js';
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
