/**
 * The JSON examples of docs/artifact.md follow the schemas they illustrate, so the page a trainer's
 * author copies from cannot drift from what the checker accepts.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkMetrics } from '../../artifact/check.js';
import {
  ArtifactDescriptorSchema,
  PreprocessFileSchema,
  ReferenceStatisticsSchema,
  type PreprocessFile,
} from '../../artifact/contract.js';
import { validateAgainstJsonSchema } from '../../manifests/schema-validation.js';

const page = readFileSync(join(import.meta.dirname, '../../docs/artifact.md'), 'utf8');
const examples = [...page.matchAll(/```json\n([\s\S]*?)```/g)]
  .map((m) => m[1])
  .filter((text) => text.trimStart().startsWith('{\n') || text.includes('"formatVersion"'))
  .map((text) => JSON.parse(text) as Record<string, unknown>)
  .filter((value) => value.formatVersion === 1);

const messages = (schema: object, value: unknown) =>
  validateAgainstJsonSchema(schema, value).map((i) => i.message);

describe('docs/artifact.md examples', () => {
  it('has the examples the page promises', () => {
    expect(examples.filter((e) => 'format' in e)).toHaveLength(4);
    expect(examples.filter((e) => 'encodedWidth' in e)).toHaveLength(1);
    expect(examples.filter((e) => 'rows' in e)).toHaveLength(1);
    expect(examples.filter((e) => 'baseline' in e)).toHaveLength(1);
  });

  it.each(examples.map((e, i) => [i, e] as const))('example %i is valid', (_i, example) => {
    if ('format' in example) expect(messages(ArtifactDescriptorSchema, example)).toEqual([]);
    else if ('baseline' in example) expect(checkMetrics(example).diagnostics).toEqual([]);
    else if ('rows' in example) expect(messages(ReferenceStatisticsSchema, example)).toEqual([]);
    else {
      expect(messages(PreprocessFileSchema, example)).toEqual([]);
      const preprocess = example as unknown as PreprocessFile;
      const width = preprocess.features.reduce(
        (sum, f) => sum + (f.type === 'categorical' ? (f.hashBuckets ?? f.vocabulary.length) : 1),
        0,
      );
      expect(preprocess.encodedWidth).toBe(width);
    }
  });
});
